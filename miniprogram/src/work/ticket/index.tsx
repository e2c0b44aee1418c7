import { useEffect, useRef, useState } from 'react'
import { useRouter } from '@tarojs/taro'
import { View, Text, Textarea, Input } from '@tarojs/components'
import { api, upload, loadMe, S } from '../../api/client'
import { Page, Message, Button, Chips } from '../../components/ui'
import { useData, message } from '../../lib/useLoad'
import { pick } from '../../lib/pick'
import { nowIso, when } from '../../lib/format'
import { ENABLEMENT_KINDS, EnablementKind, options } from '../../lib/codes'

const KINDS = options(ENABLEMENT_KINDS)

function PartCard({ part, mine, onDone }: { part: S<'PartOut'>; mine: boolean; onDone: () => void }) {
  const openedAt = useRef(nowIso())
  const [open, setOpen] = useState(false)
  const [text, setText] = useState('')
  const [date, setDate] = useState('')
  const [risks, setRisks] = useState('')
  const [files, setFiles] = useState<S<'AttachmentOut'>[]>([])
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const attach = async () => {
    const picked = await pick('file')
    if (!picked) return
    try {
      setFiles([...files, await upload<S<'AttachmentOut'>>('/attachments', picked)])
    } catch (e) {
      setError(message(e))
    }
  }
  const send = async () => {
    setBusy(true)
    setError(null)
    try {
      await api<S<'PartOut'>>('POST', `/ticket-parts/${part.id}/answer`, {
        text,
        attachment_ids: files.map((f) => f.id),
        schedule_date: date ? `${date}T09:00:00+08:00` : null,
        risks: risks || null,
        form_opened_at: openedAt.current,
        submitted_at: nowIso(),
      })
      setOpen(false)
      onDone()
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <View className='item part'>
      <View className='row'>
        <Text>{part.department_name}</Text>
        <Text className={'badge' + (part.status === 'open' ? ' red' : '')}>{part.status_label}</Text>
      </View>
      <View className='muted'>
        {part.request} {part.due_at ? `· 期限 ${when(part.due_at)}` : ''}
      </View>
      {part.response_text ? <View>回复：{part.response_text}</View> : null}
      {part.schedule_date ? <View>排期：{when(part.schedule_date)}</View> : null}
      {part.risks ? <View>风险：{part.risks}</View> : null}
      {part.status === 'open' && !mine ? <View className='muted'>由{part.department_name}在此回复，回复后会通知您</View> : null}
      {part.status === 'open' && mine ? (
        <View className='chip answer' style={{ marginTop: '8px' }} onClick={() => setOpen(!open)}>
          回复本部门任务
        </View>
      ) : null}
      {open ? (
        <View>
          <Textarea className='textarea part-text' value={text} placeholder='回复内容' onInput={(e) => setText(e.detail.value)} />
          <View className='label'>排期（交付部，格式 2026-03-10）</View>
          <Input className='input' value={date} onInput={(e) => setDate(e.detail.value)} />
          <View className='label'>风险点</View>
          <Input className='input' value={risks} onInput={(e) => setRisks(e.detail.value)} />
          <View className='chips' style={{ marginTop: '8px' }}>
            {files.map((f) => (
              <View key={f.id} className='chip on'>
                {f.filename}
              </View>
            ))}
            <View className='chip' onClick={attach}>
              ＋ 附材料
            </View>
          </View>
          <Message error={error} />
          <Button onClick={send} busy={busy}>
            提交回复
          </Button>
        </View>
      ) : (
        <Message error={error} />
      )}
    </View>
  )
}

export default function Ticket() {
  const id = Number(useRouter().params.id)
  const ticket = useData(() => api<S<'TicketOut'>>('GET', `/tickets/${id}`), [id])
  const [department, setDepartment] = useState<number | null>(null)
  useEffect(() => {
    loadMe()
      .then((u) => setDepartment(u.department_id ?? null))
      .catch(() => undefined)
  }, [])
  const [kind, setKind] = useState<EnablementKind | null>(null)
  const [note, setNote] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [ok, setOk] = useState<string | null>(null)
  const request = async () => {
    if (!kind) return setError('请选择要申请的赋能类型')
    try {
      await api<S<'EnablementOut'>>('POST', `/tickets/${id}/enablement-requests`, { kind, note })
      setOk('已向市场部提出赋能请求')
      setError(null)
      ticket.reload()
    } catch (e) {
      setError(message(e))
    }
  }
  const t = ticket.data
  return (
    <Page title='协同单'>
      <Message error={ticket.error} />
      {t ? (
        <View className='card'>
          <View className='card-title'>{t.opportunity_title}</View>
          <View className='muted'>
            {t.reason} · {t.status_label} · {when(t.opened_at)}
          </View>
          {t.parts.map((p) => (
            <PartCard key={p.id} part={p} mine={department !== null && p.department_id === department} onDone={ticket.reload} />
          ))}
        </View>
      ) : null}
      {t ? (
        <View className='card'>
          <View className='card-title'>申请市场赋能</View>
          {t.enablement_requests.map((r) => (
            <View key={r.id} className='muted'>
              · {r.kind_label} {r.fulfilled_at ? '（已提供）' : '（处理中）'}
            </View>
          ))}
          <Chips options={KINDS} value={kind} onChange={setKind} label='赋能类型' />
          <Input className='input' value={note} placeholder='补充说明（可选）' onInput={(e) => setNote(e.detail.value)} />
          <Message error={error} ok={ok} />
          <Button kind='secondary' onClick={request}>
            提出请求
          </Button>
        </View>
      ) : null}
    </Page>
  )
}
