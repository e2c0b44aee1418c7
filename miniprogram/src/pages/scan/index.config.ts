export default definePageConfig({ navigationBarTitleText: '扫码填写' })
