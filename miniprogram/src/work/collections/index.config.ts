export default definePageConfig({ navigationBarTitleText: '回款台账' })
