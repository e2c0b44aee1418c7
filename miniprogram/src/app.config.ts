// Main package: what a rep opens every day. Everything else is a sub-package, loaded on first use in the
// mini-program (WeChat's 2 MB main-package limit) and a separate chunk on H5.
export default defineAppConfig({
  pages: [
    'pages/today/index',
    'pages/customers/index',
    'pages/customer/index',
    'pages/touchpoint/index',
    'pages/scan/index',
    'pages/deal/index',
    'pages/more/index',
  ],
  subPackages: [
    {
      root: 'work',
      pages: ['alerts/index', 'alert/index', 'deals/index', 'invoice/index', 'tickets/index', 'ticket/index', 'import/index', 'pool/index', 'collections/index'],
    },
  ],
  window: {
    backgroundTextStyle: 'light',
    navigationBarBackgroundColor: '#1f5fbf',
    navigationBarTitleText: '销售导航仪',
    navigationBarTextStyle: 'white',
  },
  animation: false,
})
