export default definePageConfig({ navigationBarTitleText: '跨部门协同单' })
