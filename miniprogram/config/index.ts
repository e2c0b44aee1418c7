import { defineConfig, type UserConfigExport } from '@tarojs/cli'

// One codebase, two builds: `taro build --type weapp` (the mini-program a company imports into WeCom/WeChat)
// and `--type h5` (served by the SalesNav app under /m/). Each goes to its own folder under dist/.
export default defineConfig<'webpack5'>(async () => {
  const platform = process.env.TARO_ENV || 'h5'
  const config: UserConfigExport<'webpack5'> = {
    projectName: 'salesnav-miniprogram',
    date: '2026-12-05',
    designWidth: 375,
    deviceRatio: { 375: 2, 640: 2.34 / 2, 750: 1, 828: 1.81 / 2 },
    sourceRoot: 'src',
    outputRoot: `dist/${platform}`,
    plugins: [],
    defineConstants: {},
    copy: { patterns: [], options: {} },
    framework: 'react',
    compiler: { type: 'webpack5', prebundle: { enable: false } },
    cache: { enable: false },
    logger: { quiet: true, stats: false },
    mini: {
      postcss: {
        pxtransform: { enable: true, config: {} },
        cssModules: { enable: false, config: { namingPattern: 'module', generateScopedName: '[name]__[local]___[hash:base64:5]' } },
      },
      optimizeMainPackage: { enable: true },
      webpackChain(chain) {
        chain.merge({ optimization: { minimize: true } })
      },
    },
    h5: {
      publicPath: '/m/',
      staticDirectory: 'static',
      router: { mode: 'browser', basename: '/m' },
      output: { filename: 'js/[name].[contenthash:8].js', chunkFilename: 'js/[name].[contenthash:8].js' },
      miniCssExtractPluginOption: {
        ignoreOrder: true,
        filename: 'css/[name].[contenthash:8].css',
        chunkFilename: 'css/[name].[contenthash:8].css',
      },
      postcss: {
        autoprefixer: { enable: true, config: {} },
        // 390 px phones first: CSS px stay px on H5 (a rem base would need an inline script, which our CSP forbids)
        pxtransform: { enable: false, config: {} },
        cssModules: { enable: false, config: { namingPattern: 'module', generateScopedName: '[name]__[local]___[hash:base64:5]' } },
      },
      devServer: { port: 8210 },
      webpackChain(chain) {
        // two cores: one terser worker
        chain.optimization.minimizer('terserPlugin').tap((args: any[]) => {
          args[0] = { ...(args[0] || {}), parallel: 1 }
          return args
        })
      },
    },
  }
  return config
})
