export function fen(amount: number | null | undefined): string {
  if (amount === null || amount === undefined) return '—'
  const yuan = amount / 100
  if (yuan >= 10000) return `${(yuan / 10000).toFixed(yuan >= 1e6 ? 0 : 1)}万元`
  // whole yuan read as people say them (0元, 500元); cents only when there are any
  return Number.isInteger(yuan) ? `${yuan}元` : `${yuan.toFixed(2)}元`
}

/** A moment as people read it: 3月2日 09:30, with its year when it is not this year's (imported history). */
export function when(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  const year = d.getFullYear() === new Date().getFullYear() ? '' : `${d.getFullYear()}年`
  return `${year}${d.getMonth() + 1}月${d.getDate()}日 ${pad(d.getHours())}:${pad(d.getMinutes())}`
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

export const HEALTH_COLOUR: Record<string, string> = { green: '#1a9b4b', yellow: '#d69e00', red: '#d93025' }

/** What a rep types as an amount in yuan — 580000, 58万, 12.5万元, 1,200 — in fen (the API's unit); null when it
 *  is not an amount at all. */
export function yuanToFen(text: string): number | null {
  let raw = text.trim().replace(/[,，\s]/g, '').replace(/元$/, '')
  let multiplier = 1
  const unit = raw.slice(-1)
  if (unit === '万') multiplier = 10000
  if (unit === '亿') multiplier = 100000000
  if (unit === '千') multiplier = 1000
  if (multiplier !== 1) raw = raw.slice(0, -1)
  if (!/^\d+(\.\d+)?$/.test(raw)) return null
  return Math.round(Number(raw) * multiplier * 100)
}

/** fen → the yuan figure an invoice shows, e.g. 1400000 → "14000.00". */
export function yuan(fenValue: number | null | undefined): string {
  return fenValue === null || fenValue === undefined ? '' : (fenValue / 100).toFixed(2)
}
