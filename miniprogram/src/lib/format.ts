export function fen(amount: number | null | undefined): string {
  if (amount === null || amount === undefined) return '—'
  const yuan = amount / 100
  return yuan >= 10000 ? `${(yuan / 10000).toFixed(yuan >= 1e6 ? 0 : 1)}万元` : `${yuan.toFixed(2)}元`
}

export function when(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getMonth() + 1}月${d.getDate()}日 ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** An ISO time with the phone's offset, e.g. 2026-03-03T09:00:00+08:00. */
export function isoLocal(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  const off = -d.getTimezoneOffset()
  const sign = off >= 0 ? '+' : '-'
  const a = Math.abs(off)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00` +
    `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`
  )
}

export function nowIso(): string {
  return isoLocal(new Date())
}

export const HEALTH_COLOUR: Record<string, string> = { 绿灯: '#1a9b4b', 黄灯: '#d69e00', 红灯: '#d93025' }
