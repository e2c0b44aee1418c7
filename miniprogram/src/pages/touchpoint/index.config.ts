export default definePageConfig({ navigationBarTitleText: '触点日志' })
