export default definePageConfig({ navigationBarTitleText: '商机' })
