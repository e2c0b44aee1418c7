import { useEffect, useRef, useState } from 'react'
import { useRouter } from '@tarojs/taro'
import { View, Text, Input, Textarea } from '@tarojs/components'
import { api, upload, loadMe, ApiError, S } from '../../api/client'
import { Page, Message, Button, Chips, Empty } from '../../components/ui'
import { ContractCard } from '../../components/ContractCard'
import { useData, message } from '../../lib/useLoad'
import { pick } from '../../lib/pick'
import { fen, nowIso, when } from '../../lib/format'

type Given = { text?: string; attachment_id?: number; filename?: string; checked?: boolean }
const OVERRIDERS = ['manager', 'director', 'admin']

export default function Deal() {
  const params = useRouter().params
  const id = Number(params.id)
  const touchpointId = params.touchpoint_id ? Number(params.touchpoint_id) : null
  const openedAt = useRef(nowIso())
  const deal = useData(() => api<S<'OpportunityOut'>>('GET', `/opportunities/${id}`), [id])
  const stages = useData(() => api<S<'StageList'>>('GET', '/stages'))
  const win = useData(() => api<S<'WinProbabilityOut'>>('GET', `/opportunities/${id}/win-probability`), [id])
  const [role, setRole] = useState<string>('rep')
  const [target, setTarget] = useState<string | null>(null)
  const [given, setGiven] = useState<Record<number, Given>>({})
  const [override, setOverride] = useState('')
  const [unfreezeReason, setUnfreezeReason] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [missing, setMissing] = useState<string[]>([])
  const [ok, setOk] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    loadMe()
      .then((u) => setRole(u.role))
      .catch(() => undefined)
  }, [])

  const d = deal.data
  const all = stages.data?.items || []
  const current = all.find((s) => d && s.id === d.stage.id)
  const ahead = all.filter((s) => current && s.position > current.position && s.outcome !== 'lost')
  const targetStage = ahead.find((s) => s.code === target) || ahead[0]
  // every stage the move passes asks for its own checklist
  const passed = targetStage ? ahead.filter((s) => s.position <= targetStage.position) : []
  const provided = new Set((d?.evidence || []).map((e) => e.checklist_item_id))

  const set = (itemId: number, g: Given) => setGiven({ ...given, [itemId]: { ...given[itemId], ...g } })

  const uploadFor = async (itemId: number) => {
    const picked = await pick('file')
    if (!picked) return
    setBusy(true)
    try {
      const a = await upload<S<'AttachmentOut'>>('/attachments', picked)
      set(itemId, { attachment_id: a.id, filename: a.filename })
      setError(null)
      setMissing([])
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const advance = async () => {
    if (!targetStage) return
    setBusy(true)
    setError(null)
    setMissing([])
    try {
      const evidence = Object.entries(given).map(([itemId, g]) => ({
        checklist_item_id: Number(itemId),
        text: g.text || null,
        attachment_id: g.attachment_id || null,
        checked: !!g.checked,
      }))
      const out = await api<S<'OpportunityOut'>>('POST', `/opportunities/${id}/advance`, {
        to_stage: targetStage.code,
        touchpoint_id: touchpointId,
        evidence,
        override_reason: override.trim() || null,
        form_opened_at: openedAt.current,
        submitted_at: nowIso(),
      })
      deal.setData(out)
      win.reload() // a new stage is a new probability
      setGiven({})
      setTarget(null)
      setOverride('')
      setOk(`已推进到「${out.stage.name}」`)
    } catch (e) {
      setError(message(e))
      if (e instanceof ApiError && e.body?.missing) setMissing(e.body.missing)
    } finally {
      setBusy(false)
    }
  }

  const unfreeze = async () => {
    setBusy(true)
    try {
      const out = await api<S<'UnfreezeOut'>>('POST', `/opportunities/${id}/unfreeze`, { reason: unfreezeReason })
      deal.setData(out.opportunity)
      setOk(out.message)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Page title='商机推进卡'>
      <Message error={deal.error || stages.error} />
      {d ? (
        <View className='card'>
          <View className='card-title'>{d.title}</View>
          <View className='muted'>
            {d.customer_name} · {d.product_line} · {fen(d.expected_amount_fen)} · {d.status_label}
          </View>
          <View className='step' style={{ marginTop: '8px' }}>
            {all
              .filter((s) => s.outcome !== 'lost')
              .map((s, i, shown) => (
                <Text key={s.id} className={s.id === d.stage.id ? 'now' : ''}>
                  {s.name}
                  {i < shown.length - 1 ? ' ›' : ''}
                </Text>
              ))}
          </View>
          <View className='muted'>进入本阶段：{when(d.stage_entered_at)}</View>
          {d.overdue_receivable_fen ? <View className='warn overdue'>逾期回款 {fen(d.overdue_receivable_fen)}，请尽快跟进客户付款</View> : null}
          {d.approval_frozen ? (
            <View className='warn frozen'>
              审批已冻结：{d.approval_frozen_reason || '大单信用校验未通过'}
              {'\n'}只有销售总监可以解除冻结，解除须填写理由。
            </View>
          ) : null}
        </View>
      ) : null}
      {d && d.status === 'open' && win.data ? (
        <View className='card win-probability'>
          <View className='card-title'>赢单概率 {win.data.percent}%</View>
          <View className='muted'>
            {win.data.note}
            {win.data.source === 'model' ? `；阶段赢率表为 ${win.data.stage_percent}%` : ''}
          </View>
          {win.data.reasons.map((r) => (
            <View key={r.text} className={r.helps ? 'reason helps' : 'reason hurts'}>
              {r.helps ? '↑ ' : '↓ '}
              {r.text}
            </View>
          ))}
        </View>
      ) : null}
      {d && d.status === 'won' ? <ContractCard opportunityId={id} /> : null}
      {d && d.approval_frozen && (role === 'director' || role === 'admin') ? (
        <View className='card'>
          <View className='card-title'>解除冻结</View>
          <Textarea className='textarea' value={unfreezeReason} placeholder='理由（将通知销售及其主管）' onInput={(e) => setUnfreezeReason(e.detail.value)} />
          <Button kind='danger' onClick={unfreeze} busy={busy}>
            解除冻结
          </Button>
        </View>
      ) : null}
      {d && d.status === 'open' && ahead.length ? (
        <View className='card advance'>
          <View className='card-title'>推进到</View>
          <Chips options={ahead.map((s) => ({ value: s.code, text: s.name }))} value={targetStage?.code || null} onChange={setTarget} label='目标阶段' />
          {passed.map((s) => (
            <View key={s.id}>
              <View className='label'>「{s.name}」检查清单</View>
              {s.checklist.length === 0 ? <Empty text='本阶段无需材料' /> : null}
              {s.checklist.map((item) => {
                const g = given[item.id] || {}
                const done = provided.has(item.id)
                return (
                  <View key={item.id} className='check' data-item={item.name}>
                    <View className='row'>
                      <Text className={done ? 'done' : ''}>
                        {item.required ? '＊' : ''}
                        {item.name}
                        {done ? ' ✓ 已提供' : ''}
                      </Text>
                      <Text className='muted'>{item.kind_label}</Text>
                    </View>
                    {item.kind === 'file' ? (
                      <View className={'chip upload' + (g.attachment_id ? ' on' : '')} onClick={() => uploadFor(item.id)}>
                        {g.filename ? `已上传：${g.filename}` : '＋ 上传文件或照片'}
                      </View>
                    ) : item.kind === 'text' ? (
                      <Input className='input evidence-text' value={g.text || ''} placeholder='填写' onInput={(e) => set(item.id, { text: e.detail.value })} />
                    ) : (
                      <View className={'chip tick' + (g.checked ? ' on' : '')} onClick={() => set(item.id, { checked: !g.checked })}>
                        {g.checked ? '✓ 已完成' : '点此勾选'}
                      </View>
                    )}
                  </View>
                )
              })}
            </View>
          ))}
          {OVERRIDERS.includes(role) ? (
            <>
              <View className='label'>主管跳过理由（缺项时填写，计为不合规推进）</View>
              <Input className='input override' value={override} placeholder='如 客户口头确认，纪要后补' onInput={(e) => setOverride(e.detail.value)} />
            </>
          ) : null}
          <Message error={error} ok={ok} />
          {missing.length ? <View className='warn'>还缺：{missing.join('、')}</View> : null}
          <Button onClick={advance} busy={busy}>
            推进到「{targetStage?.name}」
          </Button>
        </View>
      ) : (
        <Message ok={ok} />
      )}
    </Page>
  )
}
