export default definePageConfig({ navigationBarTitleText: '公海客户' })
