// Excel 导入: upload (or open an import sent in the chat) → preview (columns as recognised, rows merged as one
// customer, other reps' customers, near-miss customers, error rows, notes) → correct → confirm → progress → undo.
// Nothing is written before the confirm. Without ?id= the page also lists the user's recent imports.
// A failed action says why next to its own button (and in a modal), where the user's eyes are.
import { useCallback, useEffect, useState } from 'react'
import Taro, { useDidShow, useRouter } from '@tarojs/taro'
import { View, Text } from '@tarojs/components'
import { api, query, upload, S } from '../../api/client'
import { Page, Message, Button, Chips, Empty, go } from '../../components/ui'
import { message } from '../../lib/useLoad'
import { pick } from '../../lib/pick'
import { when } from '../../lib/format'
import { canDownloadReport, downloadFailedReport } from './failedReport'

type Column = { index: number; header: string; field: string | null; field_label: string; samples: string[] }
type Sheet = { name: string; rows: number; note: string | null; columns: Column[] }
type NearMiss = { name: string; rows: number[]; decision: number | 'new'; why: string; candidates: { customer_id: number; name: string; score: number }[] }
type Merge = { sheet: string; row: number; name: string; into_row: number; into: string; by_label: string; decision: string; choices: Record<string, string> }
type Taken = { name: string; existing_name: string; owner: string; rows: number[]; decision: string; choices: Record<string, string> }
type Decision = number | string
type Preview = {
  blocking: string | null
  summary: Record<string, number>
  sheets: Sheet[]
  fields: Record<string, string>
  near_misses: NearMiss[]
  merges: Merge[]
  others_customers: Taken[]
  errors: { sheet: string; row: number; reason: string }[]
  notes: { sheet: string; row: number; note: string }[]
}

const NOTES_SHOWN = 30

const SUMMARY: Record<string, string> = {
  rows: '行',
  customers: '新建客户',
  contacts: '联系人',
  failed: '失败行',
  new_customers: '新客户',
  matched_customers: '已有客户',
  touchpoints: '触点',
  opportunities: '商机',
  near_misses: '疑似重复',
  merged_rows: '合并的行',
  others_customers: '他人名下客户',
  notes: '提示',
  errors: '错误行',
}

/** The figures in the words of SUMMARY and in its order (the answer's keys come sorted by their English names). */
function figures(counts: Record<string, unknown>): string {
  return Object.keys(SUMMARY)
    .filter((k) => typeof counts[k] === 'number')
    .map((k) => `${SUMMARY[k]} ${counts[k]}`)
    .join(' · ')
}

// What a confirmed import wrote (counts once a chunk is written: customers, contacts, touchpoints, opportunities).
const CREATED: [string, string, string][] = [
  ['customers', '客户', '个'],
  ['contacts', '联系人', '个'],
  ['touchpoints', '触点', '条'],
  ['opportunities', '商机', '个'],
]

/** 「客户 12 个、联系人 12 个、触点 30 条、商机 9 个」, or null before the import wrote anything. */
function created(counts: Record<string, unknown> | undefined): string | null {
  if (!counts || typeof counts.customers !== 'number') return null
  return CREATED.map(([k, word, unit]) => `${word} ${Number(counts[k] || 0)} ${unit}`).join('、')
}

type Handovers = { open: number; done: number; cancelled: number }
type Action = 'choose' | 'commit' | 'undo' | 'report'
type Failure = { at: Action; text: string }

const FAILED_TITLE: Record<Action, string> = {
  choose: '上传未成功',
  commit: '确认导入未成功',
  undo: '撤销未成功',
  report: '下载未成功',
}

function confirmUndo(counts: Record<string, unknown> | undefined, handovers: Handovers | undefined): Promise<boolean> {
  const what = created(counts)
  const parts = [what ? `将删除本次导入建立的${what}。` : '这次导入没有写入记录。']
  if (handovers?.open) parts.push(`尚未处理的 ${handovers.open} 个转交申请一并取消。`)
  parts.push('撤销后不能恢复，需要时可重新上传这份表格。')
  return Taro.showModal({
    title: '撤销这次导入？',
    content: parts.join(''),
    confirmText: '撤销',
    confirmColor: '#b3261e',
    cancelText: '不撤销',
  }).then((r) => r.confirm)
}

/** What stands after an undo, in the past tense. */
function undoneLines(imp: S<'ImportOut'>): string[] {
  const what = created(imp.counts)
  const lines = [what ? `已撤销：本次导入建立的${what}已删除。` : '已撤销：这次导入没有写入记录。']
  const h = imp.handovers as Handovers | undefined
  if (h?.cancelled) lines.push(`这次导入发出的转交申请 ${h.cancelled} 个已取消。`)
  if (h?.done) lines.push(`撤销前已处理的转交申请 ${h.done} 个不受影响。`)
  return lines
}

type Item = S<'ImportListItemOut'>
const PER_PAGE = 10

/** A list row's figures: what a preview would import, or what the import wrote. */
function itemFigures(i: Item): string {
  const counts = (i.counts || {}) as Record<string, unknown>
  if (i.status === 'previewed') return `共 ${i.total_rows} 行，尚未导入`
  const what = created(counts)
  if (i.status === 'undone') return what ? `建立的${what}已删除` : '没有写入记录'
  if (i.status === 'queued' || i.status === 'running') return `共 ${i.total_rows} 行`
  return what ? `写入${what}` + (counts.failed ? `，失败 ${counts.failed} 行` : '') : `共 ${i.total_rows} 行`
}

function Recent() {
  const [items, setItems] = useState<Item[]>([])
  const [total, setTotal] = useState(0)
  const [page, setPage] = useState(1)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<string | null>(null)

  const load = useCallback((n: number) => {
    setLoading(true)
    setError(null)
    return api<S<'ImportPage'>>('GET', '/imports' + query({ page: n, per_page: PER_PAGE }))
      .then((p) => {
        setItems((before) => (n === 1 ? p.items : [...before, ...p.items]))
        setTotal(p.total)
        setPage(n)
      })
      .catch((e) => setError(message(e)))
      .finally(() => setLoading(false))
  }, [])

  useDidShow(() => {
    load(1) // again on coming back from an import's page: its status may have changed
  })

  return (
    <View className='card imports'>
      <View className='card-title'>最近的导入</View>
      {!loading && !error && !items.length ? <Empty text='还没有导入过表格' /> : null}
      {items.map((i) => (
        <View key={i.id} className='item import-item' onClick={() => go(`/work/import/index?id=${i.id}`)}>
          <View className='row'>
            <Text>{i.filename}</Text>
            <Text className='badge status'>{i.status_label}</Text>
          </View>
          <View className='muted'>
            {when(i.created_at)} 上传{i.owner_name ? ` · 归属${i.owner_name}` : ''}
          </View>
          <View className='muted'>{itemFigures(i)}</View>
        </View>
      ))}
      <Message error={error} />
      {items.length < total ? (
        <Button kind='secondary' onClick={() => load(page + 1)} busy={loading}>
          查看更早的导入
        </Button>
      ) : null}
    </View>
  )
}

export default function Import() {
  const shown = Number(useRouter().params.id || 0) // an import started in the chat, opened from its link
  const [imp, setImp] = useState<S<'ImportOut'> | null>(null)
  const [columns, setColumns] = useState<Record<string, Record<string, string>>>({})
  const [matches, setMatches] = useState<Record<string, Decision>>({})
  const [editing, setEditing] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null) // reading the import (top of the page)
  const [failure, setFailure] = useState<Failure | null>(null) // an action's, shown beside its button
  const [busy, setBusy] = useState(false)
  const [saved, setSaved] = useState<string | null>(null)
  const preview = (imp?.preview || null) as unknown as Preview | null

  const failed = (at: Action, e: unknown) => {
    const text = message(e)
    setFailure({ at, text })
    Taro.showModal({ title: FAILED_TITLE[at], content: text, showCancel: false, confirmText: '知道了' })
  }
  const failedAt = (at: Action) => (failure && failure.at === at ? <Message error={failure.text} /> : null)

  useEffect(() => {
    if (!shown) return
    api<S<'ImportOut'>>('GET', `/imports/${shown}`)
      .then(setImp)
      .catch((e) => setError(message(e)))
  }, [shown])

  useEffect(() => {
    if (!imp || !imp.id || !['queued', 'running'].includes(imp.status || '')) return
    const timer = setTimeout(() => {
      api<S<'ImportOut'>>('GET', `/imports/${imp.id}`)
        .then((next) => setImp({ ...next, preview: imp.preview }))
        .catch((e) => setError(message(e)))
    }, 1000)
    return () => clearTimeout(timer)
  }, [imp])

  const choose = async () => {
    const picked = await pick('sheet')
    if (!picked) return
    setBusy(true)
    setError(null)
    setFailure(null)
    setSaved(null)
    try {
      setImp(await upload<S<'ImportOut'>>('/imports', picked))
      setColumns({})
      setMatches({})
    } catch (e) {
      failed('choose', e)
    } finally {
      setBusy(false)
    }
  }

  const run = async (path: 'commit' | 'undo', body?: unknown) => {
    if (!imp) return
    setBusy(true)
    setFailure(null)
    try {
      const next = await api<S<'ImportOut'>>('POST', `/imports/${imp.id}/${path}`, body)
      setImp({ ...next, preview: imp.preview })
      if (path === 'undo') Taro.showToast({ title: '已撤销', icon: 'success' })
    } catch (e) {
      failed(path, e)
    } finally {
      setBusy(false)
    }
  }

  const undo = async () => {
    if (!imp) return
    if (await confirmUndo(imp.counts, imp.handovers as Handovers | undefined)) await run('undo')
  }

  const report = async () => {
    if (!imp || !imp.id) return
    setBusy(true)
    setFailure(null)
    try {
      setSaved(`已保存「${await downloadFailedReport(imp.id)}」`)
    } catch (e) {
      failed('report', e)
    } finally {
      setBusy(false)
    }
  }

  const setColumn = (sheet: string, index: number, field: string) => {
    setColumns({ ...columns, [sheet]: { ...(columns[sheet] || {}), [String(index)]: field } })
    setEditing(null)
  }

  const options = (choices: Record<string, string>) => Object.entries(choices).map(([value, text]) => ({ value: value as Decision, text }))
  const fieldOptions = preview ? [{ value: '', text: '不导入' }, ...Object.entries(preview.fields).map(([v, t]) => ({ value: v, text: t }))] : []
  const previewed = imp?.status === 'previewed'
  const undone = imp?.status === 'undone'
  const written = imp ? created(imp.counts) !== null : false
  const mayUndo = !!imp && (imp.status === 'done' || (imp.status === 'failed' && written))
  const hasReport = !!imp && (imp.status === 'done' || imp.status === 'failed') && !!(imp.errors?.length || imp.notes?.length)

  return (
    <Page title='Excel 导入'>
      <View className='card'>
        <View className='muted'>上传客户跟进表（.xlsx / .xls / .csv），先看预览，确认后才写入。</View>
        <Button onClick={choose} busy={busy}>
          {imp ? '换一个文件' : '选择表格'}
        </Button>
        {failedAt('choose')}
      </View>
      <Message error={error} />
      {imp ? (
        <View className='card import'>
          <View className='row'>
            <Text>{imp.filename}</Text>
            <Text className='badge status'>{imp.status_label}</Text>
          </View>
          {imp.created_at ? (
            <View className='muted'>
              {when(imp.created_at)} 上传{imp.owner_name ? ` · 归属${imp.owner_name}` : ''}
              {undone && imp.undone_at ? ` · ${when(imp.undone_at)} 撤销` : ''}
            </View>
          ) : null}
          {imp.message && !undone ? <View className='muted'>{imp.message}</View> : null}
          {['queued', 'running'].includes(imp.status || '') ? <View className='muted'>进度 {imp.percent}%</View> : null}
          {undone ? (
            <View className='ok undone'>
              {undoneLines(imp).map((line) => (
                <View key={line}>{line}</View>
              ))}
            </View>
          ) : null}
          {imp.counts && !previewed && !undone ? <View className='muted'>{figures(imp.counts)}</View> : null}
        </View>
      ) : null}
      {preview && previewed ? (
        <>
          {preview.blocking ? <Message warn={preview.blocking} /> : null}
          <View className='card'>
            <View className='card-title'>将导入</View>
            {Object.keys(columns).length ? <View className='muted'>已更正列：确认后按更正后的列导入，下面的数字以导入结果为准</View> : null}
            <View className='muted'>
              {figures(preview.summary)}
            </View>
          </View>
          {preview.sheets.map((s) => (
            <View key={s.name} className='card'>
              <View className='card-title'>
                工作表「{s.name}」· {s.rows} 行
              </View>
              {s.columns.map((c) => {
                const key = `${s.name}:${c.index}`
                const chosen = columns[s.name]?.[String(c.index)]
                const label = chosen === undefined ? c.field_label : chosen ? preview.fields[chosen] : '不导入'
                return (
                  <View key={key} className='item column'>
                    <View className='row' onClick={() => setEditing(editing === key ? null : key)}>
                      <Text>
                        {c.header || `第 ${c.index + 1} 列`} <Text className='muted'>{c.samples.slice(0, 2).join('、')}</Text>
                      </Text>
                      <Text className={'badge' + (chosen !== undefined ? ' red' : '')}>{label} ✎</Text>
                    </View>
                    {editing === key ? <Chips options={fieldOptions} value={chosen ?? c.field ?? ''} onChange={(f) => setColumn(s.name, c.index, f)} /> : null}
                  </View>
                )
              })}
            </View>
          ))}
          {preview.merges.length ? (
            <View className='card'>
              <View className='card-title'>同一客户（已合并）</View>
              {preview.merges.map((m) => (
                <View key={`${m.sheet}-${m.row}`} className='item'>
                  <View>
                    第 {m.row} 行「{m.name}」并入第 {m.into_row} 行「{m.into}」<Text className='muted'>（{m.by_label}）</Text>
                  </View>
                  <Chips options={options(m.choices)} value={matches[m.name] ?? m.decision} onChange={(v) => setMatches({ ...matches, [m.name]: v })} />
                </View>
              ))}
            </View>
          ) : null}
          {preview.others_customers.length ? (
            <View className='card'>
              <View className='card-title'>其他同事的客户（不会重复建档）</View>
              {preview.others_customers.map((t) => (
                <View key={t.name} className='item'>
                  <View>
                    「{t.existing_name}」归属{t.owner}（第 {t.rows.join('、')} 行）
                  </View>
                  <Chips options={options(t.choices)} value={matches[t.name] ?? t.decision} onChange={(v) => setMatches({ ...matches, [t.name]: v })} />
                </View>
              ))}
            </View>
          ) : null}
          {preview.near_misses.length ? (
            <View className='card'>
              <View className='card-title'>疑似已有客户</View>
              {preview.near_misses.map((n) => (
                <View key={n.name} className='item'>
                  <View>
                    表中「{n.name}」（第 {n.rows.join('、')} 行）<Text className='muted'>{n.why}</Text>
                  </View>
                  <Chips
                    options={[{ value: 'new' as Decision, text: '建新客户' }, ...n.candidates.map((c) => ({ value: c.customer_id as Decision, text: `就是「${c.name}」` }))]}
                    value={matches[n.name] ?? n.decision}
                    onChange={(v) => setMatches({ ...matches, [n.name]: v })}
                  />
                </View>
              ))}
            </View>
          ) : null}
          {preview.errors.length ? (
            <View className='card'>
              <View className='card-title'>不会导入的行</View>
              {preview.errors.slice(0, 20).map((e) => (
                <View key={`${e.sheet}-${e.row}`} className='muted'>
                  {e.sheet} 第 {e.row} 行：{e.reason}
                </View>
              ))}
            </View>
          ) : null}
          {preview.notes.length ? (
            <View className='card'>
              <View className='card-title'>
                提示（{preview.notes.length} 条，导入后也列在导入结果中{canDownloadReport ? '，可下载失败行报表' : ''}）
              </View>
              {preview.notes.slice(0, NOTES_SHOWN).map((n, i) => (
                <View key={'pn' + i} className='muted'>
                  {n.sheet} 第 {n.row} 行：{n.note}
                </View>
              ))}
              {preview.notes.length > NOTES_SHOWN ? <View className='muted'>…另有 {preview.notes.length - NOTES_SHOWN} 条</View> : null}
            </View>
          ) : null}
          <Button onClick={() => run('commit', { columns, matches })} busy={busy}>
            确认导入
          </Button>
          {failedAt('commit')}
        </>
      ) : null}
      {imp && !previewed && !undone && (imp.errors?.length || imp.notes?.length) ? (
        <View className='card'>
          <View className='card-title'>失败行与提示</View>
          {(imp.errors || []).map((e, i) => (
            <View key={'e' + i} className='muted'>
              第 {String(e.row ?? '')} 行：{String(e.reason ?? '')}
            </View>
          ))}
          {(imp.notes || []).map((n, i) => (
            <View key={'n' + i} className='muted'>
              第 {String(n.row ?? '')} 行：{String(n.note ?? '')}
            </View>
          ))}
        </View>
      ) : null}
      {hasReport && canDownloadReport ? (
        <>
          <Button kind='secondary' onClick={report} busy={busy}>
            下载失败行报表（CSV）
          </Button>
          {failedAt('report')}
          <Message ok={saved} />
        </>
      ) : null}
      {mayUndo ? (
        <>
          <Button kind='danger' onClick={undo} busy={busy}>
            撤销这次导入
          </Button>
          {failedAt('undo')}
        </>
      ) : null}
      {!shown && !imp ? <Recent /> : null}
    </Page>
  )
}
