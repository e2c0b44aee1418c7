export default definePageConfig({ navigationBarTitleText: '协同单' })
