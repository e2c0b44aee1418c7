// The failed-rows report (GET /imports/<id>/failed.csv) saved as a file. H5 only: the browser fetches it with
// the signed-in token and saves the Blob. The mini-program cannot open a CSV (openDocument takes Office files and
// PDFs only), so there the page lists the rows itself and offers no download.
import { ApiError, signedInToken } from '../../api/client'

export const canDownloadReport = process.env.TARO_ENV === 'h5'

export async function downloadFailedReport(importId: number): Promise<string> {
  const token = signedInToken()
  if (!token) throw new ApiError(401, { error: 'unauthorized', message: '登录已过期，请刷新页面后再下载' })
  const res = await fetch(`/api/v1/imports/${importId}/failed.csv`, { headers: { Authorization: `Bearer ${token}` } })
  if (!res.ok) {
    const body = await res.json().catch(() => undefined)
    if (res.status === 401) throw new ApiError(401, { error: 'unauthorized', message: '登录已过期，请刷新页面后再下载' })
    throw new ApiError(res.status, body)
  }
  const name = `导入${importId}-失败行报表.csv`
  const url = URL.createObjectURL(await res.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.style.display = 'none'
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return name
}
