import { useEffect, useRef, useState } from 'react'
import { View, Text, Input, Textarea } from '@tarojs/components'
import { api, upload, S } from '../api/client'
import { Chips, Button, Message, go } from './ui'
import { pick } from '../lib/pick'
import { isoLocal, nowIso, yuanToFen } from '../lib/format'
import { DECISION_ROLES, DecisionRole, EMOTIONS, Emotion, TOUCHPOINT_TYPES, TouchpointType, options } from '../lib/codes'
import { message } from '../lib/useLoad'

const TYPES = options(TOUCHPOINT_TYPES)
const EMOTION_CHOICES = options(EMOTIONS)
const ROLES = options(DECISION_ROLES)
const DUE = [
  { value: 0, text: '今天' },
  { value: 1, text: '明天' },
  { value: 2, text: '后天' },
  { value: 7, text: '一周后' },
]

function dueAt(days: number): string {
  const d = new Date()
  d.setDate(d.getDate() + days)
  d.setHours(days === 0 ? Math.min(d.getHours() + 2, 23) : 10, 0, 0, 0)
  return isoLocal(d)
}

export type FormSeed = {
  /** correcting a touchpoint already logged (a voice note from the chat, say) instead of logging a new one */
  touchpoint?: S<'TouchpointOut'> | null
  customerId?: number | null
  customerName?: string | null
  contacts?: S<'ContactOut'>[]
  type?: TouchpointType
  summary?: string | null
  expo?: string | null
}

/** A deal opened from the touchpoint that revealed it (商机 always start from a touchpoint). */
function NewDeal({ touchpoint }: { touchpoint: S<'TouchpointOut'> }) {
  const openedAt = useRef(nowIso())
  const [open, setOpen] = useState(false)
  const [title, setTitle] = useState('')
  const [line, setLine] = useState('')
  const [amount, setAmount] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const create = async () => {
    const amountFen = yuanToFen(amount)
    if (!amountFen) return setError('请填写预计金额，例如 58万 或 580000')
    setBusy(true)
    setError(null)
    try {
      const deal = await api<S<'OpportunityOut'>>('POST', '/opportunities', {
        touchpoint_id: touchpoint.id,
        title,
        product_line: line,
        expected_amount_fen: amountFen,
        form_opened_at: openedAt.current,
        submitted_at: nowIso(),
      })
      go(`/pages/deal/index?id=${deal.id}&touchpoint_id=${touchpoint.id}`)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }
  if (!open) {
    return <Button onClick={() => setOpen(true)}>由此建商机</Button>
  }
  return (
    <View className='new-deal'>
      <View className='label'>商机名称</View>
      <Input className='input' value={title} placeholder='如 CT球管更换' onInput={(e) => setTitle(e.detail.value)} />
      <View className='label'>产品线</View>
      <Input className='input' value={line} placeholder='如 CT球管' onInput={(e) => setLine(e.detail.value)} />
      <View className='label'>预计金额（元，可写 58万）</View>
      <Input className='input' value={amount} onInput={(e) => setAmount(e.detail.value)} />
      <Message error={error} />
      <Button onClick={create} busy={busy}>
        建商机
      </Button>
    </View>
  )
}

export function TouchpointForm({ seed }: { seed: FormSeed }) {
  const openedAt = useRef(nowIso())
  const old = seed.touchpoint || null
  const [type, setType] = useState<TouchpointType>(old?.type || seed.type || 'visit')
  const [emotion, setEmotion] = useState<Emotion>(old?.emotion || 'neutral')
  const [contacts, setContacts] = useState<S<'ContactOut'>[]>(seed.contacts || [])
  const [present, setPresent] = useState<number[]>(old ? old.contacts.map((c) => c.id) : [])
  const [adding, setAdding] = useState(false)
  const [newName, setNewName] = useState('')
  const [newRole, setNewRole] = useState<DecisionRole | null>(null)
  const [summary, setSummary] = useState(old?.summary || seed.summary || '')
  const [nextAction, setNextAction] = useState(old?.next_action || '')
  const [due, setDue] = useState<number | null>(null)
  const [dueIso, setDueIso] = useState<string | null>(old?.next_action_due || null)
  const [files, setFiles] = useState<S<'AttachmentOut'>[]>(
    (old?.attachment_ids || []).map((id) => ({ id, filename: `附件 ${id}`, content_type: '', size_bytes: 0, sha256: '', created_at: '' })),
  )
  const [guessed, setGuessed] = useState<string[]>([])
  const [voiceNote, setVoiceNote] = useState<string | null>(null)
  const [deals, setDeals] = useState<S<'OpportunityOut'>[]>([])
  const [deal, setDeal] = useState<number | null>(old?.opportunity_id || null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [saved, setSaved] = useState<S<'TouchpointOut'> | null>(null)
  // an expo lead: the customer is filed with the touchpoint
  const [leadName, setLeadName] = useState('')

  useEffect(() => {
    if (!seed.customerId) return
    api<S<'OpportunityPage'>>('GET', `/opportunities?customer_id=${seed.customerId}&status=open`)
      .then((p) => {
        setDeals(p.items)
        if (p.items.length === 1 && !old) setDeal(p.items[0].id)
      })
      .catch(() => setDeals([]))
  }, [seed.customerId, old])

  const toggle = (id: number) => setPresent(present.includes(id) ? present.filter((x) => x !== id) : [...present, id])

  const addContact = async () => {
    if (!newName.trim()) return setError('请填写联系人姓名')
    if (!seed.customerId) {
      setContacts([
        ...contacts,
        { id: -(contacts.length + 1), customer_id: 0, name: newName.trim(), decision_role: newRole, decision_role_label: newRole ? DECISION_ROLES[newRole] : null },
      ])
      setPresent([...present, -(contacts.length + 1)])
    } else {
      try {
        const c = await api<S<'ContactOut'>>('POST', `/customers/${seed.customerId}/contacts`, { name: newName.trim(), decision_role: newRole })
        setContacts([...contacts, c])
        setPresent([...present, c.id])
      } catch (e) {
        return setError(message(e))
      }
    }
    setAdding(false)
    setNewName('')
    setNewRole(null)
    setError(null)
  }

  const voice = async () => {
    const picked = await pick('audio')
    if (!picked) return
    setBusy(true)
    try {
      const out = await upload<S<'VoiceOut'>>('/voice', picked)
      const d = out.draft
      setSummary(d.summary || out.transcript)
      if (d.next_action) setNextAction(d.next_action)
      if (d.next_action_due) setDueIso(d.next_action_due)
      if (d.emotion) setEmotion(d.emotion)
      setGuessed(d.guessed_fields)
      setFiles([...files, { id: out.attachment_id, filename: '语音', content_type: 'audio', size_bytes: 0, sha256: '', created_at: '' }])
      setVoiceNote('已按语音填好草稿，请核对后提交')
      setError(null)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const attach = async () => {
    const picked = await pick('file')
    if (!picked) return
    setBusy(true)
    try {
      const a = await upload<S<'AttachmentOut'>>('/attachments', picked)
      setFiles([...files, a])
      setError(null)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const correct = async () => {
    if (!old) return
    setBusy(true)
    setError(null)
    try {
      const out = await api<S<'TouchpointOut'>>('PATCH', `/touchpoints/${old.id}`, {
        type,
        emotion,
        summary,
        contact_ids: present.filter((id) => id > 0),
        next_action: nextAction || null,
        next_action_due: nextAction ? dueIso || (due === null ? null : dueAt(due)) : null,
        attachment_ids: files.map((f) => f.id),
      })
      setSaved(out)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const submit = async () => {
    if (old) return correct()
    setBusy(true)
    setError(null)
    try {
      let customerId = seed.customerId || null
      let contactIds = present.filter((id) => id > 0)
      if (!customerId) {
        if (!leadName.trim()) throw new Error('请填写客户名称')
        const fresh = contacts.filter((c) => c.id < 0 && present.includes(c.id))
        const customer = await api<S<'CustomerOut'>>('POST', '/customers', {
          name: leadName.trim(),
          tags: seed.expo ? [seed.expo] : [],
          contacts: fresh.map((c) => ({ name: c.name, decision_role: c.decision_role || null })),
          form_opened_at: openedAt.current,
          submitted_at: nowIso(),
        })
        customerId = customer.id
        contactIds = customer.contacts.map((c) => c.id)
      }
      const when = dueIso || (due === null ? null : dueAt(due))
      const out = await api<S<'TouchpointOut'>>('POST', '/touchpoints', {
        customer_id: customerId,
        type,
        emotion,
        summary,
        contact_ids: contactIds,
        next_action: nextAction || null,
        next_action_due: nextAction ? when : null,
        opportunity_id: deal,
        attachment_ids: files.map((f) => f.id),
        guessed_fields: guessed,
        form_opened_at: openedAt.current,
        submitted_at: nowIso(),
      })
      setSaved(out)
    } catch (e) {
      setError(e instanceof Error && !('status' in e) ? e.message : message(e))
    } finally {
      setBusy(false)
    }
  }

  if (saved) {
    return (
      <View className='card saved'>
        <View className='card-title'>{old ? '已保存修改' : '已记录触点'}</View>
        {saved.effective ? (
          <Message ok='有效触点：有客户方参与人，下一步行动与时间明确' />
        ) : (
          <Message warn='未计为有效触点：需要至少一位客户方参与人，以及下一步行动和时间' />
        )}
        <View className='muted'>
          {saved.customer_name} · {saved.type_label} · {saved.contacts.map((c) => c.name).join('、') || '无参与人'}
        </View>
        {saved.opportunity_id ? (
          <Button onClick={() => go(`/pages/deal/index?id=${saved.opportunity_id}&touchpoint_id=${saved.id}`)}>推进商机</Button>
        ) : (
          <NewDeal touchpoint={saved} />
        )}
        <Button kind='secondary' onClick={() => go(`/pages/customer/index?id=${saved.customer_id}`)}>
          查看客户
        </Button>
      </View>
    )
  }

  return (
    <View className='card touchpoint-form'>
      {seed.customerId ? (
        <View className='card-title'>{seed.customerName}</View>
      ) : (
        <>
          <View className='card-title'>{seed.expo ? `展会线索：${seed.expo}` : '新客户'}</View>
          <View className='label'>客户名称</View>
          <Input className='input lead-name' value={leadName} placeholder='医院或经销商名称' onInput={(e) => setLeadName(e.detail.value)} />
        </>
      )}
      <View className='label'>触点类型</View>
      <Chips options={TYPES} value={type} onChange={setType} label='触点类型' />
      <View className='label'>客户情绪</View>
      <Chips options={EMOTION_CHOICES} value={emotion} onChange={setEmotion} label='客户情绪' />
      <View className='label'>在场的客户方（点选）</View>
      <View className='chips contacts'>
        {contacts.map((c) => (
          <View key={c.id} className={'chip contact' + (present.includes(c.id) ? ' on' : '')} onClick={() => toggle(c.id)}>
            {c.name}
            {c.decision_role_label ? `·${c.decision_role_label}` : ''}
          </View>
        ))}
        <View className='chip add-contact' onClick={() => setAdding(!adding)}>
          ＋ 新联系人
        </View>
      </View>
      {adding ? (
        <View>
          <View className='label'>姓名</View>
          <Input className='input new-contact' value={newName} placeholder='如 李主任' onInput={(e) => setNewName(e.detail.value)} />
          <View className='label'>决策角色</View>
          <Chips options={ROLES} value={newRole} onChange={(r) => setNewRole(r === newRole ? null : r)} label='新联系人角色' />
          <Button kind='secondary' onClick={addContact}>
            添加
          </Button>
        </View>
      ) : null}
      <View className='row label'>
        <Text>纪要</Text>
        <Text className='badge voice' onClick={voice}>
          🎤 语音填写
        </Text>
      </View>
      <Message ok={voiceNote} />
      <Textarea className='textarea summary' value={summary} maxlength={5000} placeholder='谈了什么、客户关心什么' onInput={(e) => setSummary(e.detail.value)} />
      <View className='label'>下一步行动</View>
      <Input className='input next-action' value={nextAction} placeholder='如 周三送样品给设备科' onInput={(e) => setNextAction(e.detail.value)} />
      <View className='label'>什么时候{dueIso && due === null ? `（语音识别：${dueIso.slice(0, 16).replace('T', ' ')}）` : ''}</View>
      <Chips
        options={DUE}
        value={due}
        onChange={(d) => {
          setDue(d)
          setDueIso(null)
        }}
        label='下一步时间'
      />
      {deals.length ? (
        <>
          <View className='label'>关联商机</View>
          <Chips options={deals.map((d) => ({ value: d.id, text: `${d.title}（${d.stage.name}）` }))} value={deal} onChange={(d) => setDeal(d === deal ? null : d)} label='关联商机' />
        </>
      ) : null}
      <View className='label'>照片与文件</View>
      <View className='chips'>
        {files.map((f) => (
          <View key={f.id} className='chip on'>
            {f.filename}
          </View>
        ))}
        <View className='chip attach' onClick={attach}>
          ＋ 添加
        </View>
      </View>
      <Message error={error} />
      <Button onClick={submit} busy={busy}>
        {old ? '保存修改' : '提交'}
      </Button>
    </View>
  )
}
