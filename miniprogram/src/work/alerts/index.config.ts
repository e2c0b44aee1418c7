export default definePageConfig({ navigationBarTitleText: '团队预警' })
