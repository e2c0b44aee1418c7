export default definePageConfig({ navigationBarTitleText: '发票登记回款' })
