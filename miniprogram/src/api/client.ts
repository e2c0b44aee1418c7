// The one door to /api/v1. Every type comes from schema.d.ts, generated from the app's OpenAPI document
// (`make client` regenerates it): a renamed or removed field breaks this build, not a rep's phone.
import Taro from '@tarojs/taro'
import type { components } from './schema'

export type Schemas = components['schemas']
export type S<N extends keyof Schemas> = Schemas[N]

const TOKEN_KEY = 'salesnav.token'
// H5 is served by the app itself; the mini-program talks to the configured server.
const BASE = process.env.TARO_ENV === 'h5' ? '/api/v1' : (process.env.TARO_APP_API || 'https://salesnav.example.invalid') + '/api/v1'

export class ApiError extends Error {
  status: number
  code: string
  body: S<'ErrorOut'> | undefined
  constructor(status: number, body: S<'ErrorOut'> | undefined) {
    super(body?.message || `请求失败（${status}）`)
    this.status = status
    this.code = body?.error || 'http_error'
    this.body = body
  }
}

let token: string | null = null
let signingIn: Promise<string> | null = null

function storedToken(): string | null {
  if (token) return token
  try {
    token = Taro.getStorageSync(TOKEN_KEY) || null
  } catch {
    token = null
  }
  return token
}

/** The signed-in token, for a request that cannot go through `api` (a file the browser saves). */
export function signedInToken(): string | null {
  return storedToken()
}

function rememberToken(value: string | null) {
  token = value
  try {
    if (value) Taro.setStorageSync(TOKEN_KEY, value)
    else Taro.removeStorageSync(TOKEN_KEY)
  } catch {
    // private mode: keep it in memory only
  }
}

let me: S<'UserOut'> | null = null
export function currentUser(): S<'UserOut'> | null {
  return me
}

/** H5: trade the WeCom OAuth page session for a token; no session → go through sign-in and come back.
 *  Mini-program: wx.qy.login's code → /auth/login. */
async function signIn(): Promise<string> {
  if (process.env.TARO_ENV === 'h5') {
    const res = await fetch('/api/v1/auth/page-session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-SalesNav-Client': 'h5' },
    })
    if (res.status === 401) {
      const here = window.location.pathname + window.location.search
      window.location.href = '/auth/login?next=' + encodeURIComponent(here)
      throw new ApiError(401, { error: 'unauthorized', message: '正在跳转登录…' })
    }
    const body = await res.json()
    if (!res.ok) throw new ApiError(res.status, body)
    const out = body as S<'LoginOut'>
    me = out.user
    rememberToken(out.token)
    return out.token
  }
  const qy = (Taro as any).qy
  const { code } = await (qy && qy.login ? qy.login() : Taro.login())
  const res = await Taro.request({ url: BASE + '/auth/login', method: 'POST', data: { code } })
  if (res.statusCode !== 200) throw new ApiError(res.statusCode, res.data)
  const out = res.data as S<'LoginOut'>
  me = out.user
  rememberToken(out.token)
  return out.token
}

async function ensureToken(): Promise<string> {
  const known = storedToken()
  if (known) return known
  signingIn = signingIn || signIn().finally(() => (signingIn = null))
  return signingIn
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export async function api<T>(method: Method, path: string, data?: unknown, retry = true): Promise<T> {
  const bearer = await ensureToken()
  const res = await Taro.request({
    url: BASE + path,
    method,
    data: data as any,
    header: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
  })
  if (res.statusCode === 401 && retry) {
    rememberToken(null)
    return api<T>(method, path, data, false)
  }
  if (res.statusCode >= 400) throw new ApiError(res.statusCode, res.data)
  return res.data as T
}

export async function loadMe(): Promise<S<'UserOut'>> {
  if (me) return me
  me = await api<S<'UserOut'>>('GET', '/me')
  return me
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
  return parts.length ? '?' + parts.join('&') : ''
}

/** A picked file, whichever build: a File on H5, a temp path in the mini-program. */
export type Picked = { name: string; file?: File; path?: string }

/** Upload to a multipart endpoint (field `file`): attachments, voice, invoice photos, Excel sheets. */
export async function upload<T>(path: string, picked: Picked, retry = true): Promise<T> {
  const bearer = await ensureToken()
  if (process.env.TARO_ENV === 'h5' && picked.file) {
    const form = new FormData()
    form.append('file', picked.file, picked.name)
    const res = await fetch(BASE + path, { method: 'POST', body: form, headers: { Authorization: `Bearer ${bearer}` } })
    if (res.status === 401 && retry) {
      rememberToken(null)
      return upload<T>(path, picked, false)
    }
    const body = await res.json().catch(() => undefined)
    if (!res.ok) throw new ApiError(res.status, body)
    return body as T
  }
  const res = await Taro.uploadFile({
    url: BASE + path,
    filePath: picked.path || '',
    name: 'file',
    header: { Authorization: `Bearer ${bearer}` },
  })
  const body = JSON.parse(res.data || '{}')
  if (res.statusCode >= 400) throw new ApiError(res.statusCode, body)
  return body as T
}
