export default definePageConfig({ navigationBarTitleText: '商机推进卡' })
