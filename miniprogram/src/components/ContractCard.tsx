// 合同与回款 on the deal page: a won deal's contract and instalment plan (enter or change it), its end date (老客户
// 续费前3个月 and the journeys it enters count from it), where each instalment stands, and a payment
// received (it settles the oldest open instalment first).
import { useState } from 'react'
import { View, Text, Input, Picker } from '@tarojs/components'
import { api, S } from '../api/client'
import { Button, Message } from './ui'
import { useData, message } from '../lib/useLoad'
import { fen, yuanToFen } from '../lib/format'

type Line = { amount: string; due_date: string }

const yuan = (f: number) => String(f / 100)

function today(): string {
  const d = new Date()
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** The day before the same date a year later (a one-year contract's last day): where the end-date picker opens. */
function yearAfter(day: string): string {
  const [y, m, d] = day.split('-').map(Number)
  const end = new Date(y + 1, m - 1, d - 1)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${end.getFullYear()}-${pad(end.getMonth() + 1)}-${pad(end.getDate())}`
}

export function ContractCard({ opportunityId }: { opportunityId: number }) {
  const loaded = useData(() => api<S<'ContractOut'>>('GET', `/opportunities/${opportunityId}/contract`), [opportunityId])
  const [editing, setEditing] = useState(false)
  const [no, setNo] = useState('')
  const [amount, setAmount] = useState('')
  const [signed, setSigned] = useState(today())
  const [ends, setEnds] = useState('') // '' = no end date entered
  const [lines, setLines] = useState<Line[]>([{ amount: '', due_date: today() }])
  const [paid, setPaid] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [ok, setOk] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const out = loaded.data
  if (!out || !out.won) return <Message error={loaded.error} />
  const c = out.contract

  const edit = () => {
    if (c) {
      setNo(c.contract_no || '')
      setAmount(yuan(c.amount_fen))
      setSigned(c.signed_on)
      setEnds(c.ends_on || '')
      setLines(c.instalments.map((i) => ({ amount: yuan(i.amount_fen), due_date: i.due_date })))
    }
    setEditing(true)
    setOk(null)
  }
  const setLine = (n: number, patch: Partial<Line>) => setLines(lines.map((l, i) => (i === n ? { ...l, ...patch } : l)))

  const run = async (work: () => Promise<S<'ContractOut'>>, done: string) => {
    setBusy(true)
    setError(null)
    try {
      loaded.setData(await work())
      setOk(done)
      setEditing(false)
      setPaid('')
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }
  /** An amount the rep typed, in fen; a Chinese error (and nothing sent) when it is not one. */
  const fenOf = (text: string, what: string): number | null => {
    const value = yuanToFen(text)
    if (value === null || value <= 0) setError(`${what}「${text}」无法识别，请填写数字，例如 300000 或 30万`)
    return value === null || value <= 0 ? null : value
  }
  const save = () => {
    const total = fenOf(amount, '合同金额')
    if (total === null) return
    if (ends && ends <= signed) {
      setError(`合同到期日 ${ends} 必须晚于签约日 ${signed}`)
      return
    }
    const plan: { amount_fen: number; due_date: string }[] = []
    for (const [n, l] of lines.entries()) {
      const each = fenOf(l.amount, `第 ${n + 1} 期金额`)
      if (each === null) return
      plan.push({ amount_fen: each, due_date: l.due_date })
    }
    return run(
      () =>
        api<S<'ContractOut'>>('PUT', `/opportunities/${opportunityId}/contract`, {
          contract_no: no.trim() || null,
          amount_fen: total,
          signed_on: signed,
          ends_on: ends || null,
          instalments: plan,
        }),
      '回款计划已保存：到期前会提醒，逾期会告知主管',
    )
  }
  const pay = () => {
    const value = fenOf(paid, '回款金额')
    if (value === null) return
    return run(() => api<S<'ContractOut'>>('POST', `/opportunities/${opportunityId}/payments`, { amount_fen: value }), '回款已登记')
  }

  return (
    <View className='card contract'>
      <View className='row'>
        <Text className='card-title'>合同与回款</Text>
        {c && c.overdue_fen ? <Text className='badge red'>逾期 {fen(c.overdue_fen)}</Text> : null}
      </View>
      {c && !editing ? (
        <>
          <View className='muted'>
            {c.contract_no ? `合同 ${c.contract_no} · ` : ''}签约 {c.signed_on} · 合同额 {fen(c.amount_fen)} · 已回款 {fen(c.paid_fen)}
          </View>
          <View className={'ends-on' + (c.ends_on ? '' : ' muted')}>
            {c.ends_on
              ? `合同到期 ${c.ends_on}（续费期按此计算）`
              : `合同到期日未填：续费期暂按 ${c.term_ends_on} 到期估算，点「修改回款计划」可填写`}
          </View>
          {c.instalments.map((i) => (
            <View key={i.receivable_id} className='item instalment'>
              <View className='row'>
                <Text>
                  第 {i.instalment_no} 期 {fen(i.amount_fen)}
                </Text>
                <Text className={'badge' + (i.days_overdue ? ' red' : '')}>{i.status}</Text>
              </View>
              <View className='muted'>
                {i.due_date} 到期{i.paid_fen ? ` · 已回款 ${fen(i.paid_fen)}` : ''}
              </View>
            </View>
          ))}
          {c.outstanding_fen > 0 ? (
            <View className='pay'>
              <View className='label'>收到回款（先冲抵到期最早的一期）</View>
              <Input className='input payment' value={paid} placeholder='回款金额，如 30万' onInput={(e) => setPaid(e.detail.value)} />
              <Button onClick={pay} busy={busy}>
                登记回款
              </Button>
            </View>
          ) : null}
          <Button kind='secondary' onClick={edit}>
            修改回款计划
          </Button>
        </>
      ) : null}
      {!c && !editing ? (
        <>
          <View className='muted'>已赢单：录入合同和回款计划后，到期前会提醒您，逾期会告知主管。</View>
          <Button onClick={edit}>录入回款计划</Button>
        </>
      ) : null}
      {editing ? (
        <View className='plan'>
          <View className='label'>合同编号（可不填）</View>
          <Input className='input contract-no' value={no} onInput={(e) => setNo(e.detail.value)} />
          <View className='label'>合同金额（元，可写 100万）</View>
          <Input className='input contract-amount' value={amount} onInput={(e) => setAmount(e.detail.value)} />
          <View className='label'>签约日期</View>
          <Picker mode='date' value={signed} onChange={(e) => setSigned(e.detail.value)}>
            <View className='input signed-on'>{signed}</View>
          </Picker>
          <View className='label'>合同到期日（服务的最后一天，可不填；客户何时进入「老客户续费前3个月」按它计算）</View>
          <View className='row'>
            <Picker mode='date' value={ends || yearAfter(signed)} start={signed} onChange={(e) => setEnds(e.detail.value)}>
              <View className={'input ends-on-input' + (ends ? '' : ' placeholder')}>{ends || '未填，点此选择'}</View>
            </Picker>
            {ends ? (
              <View className='chip clear-ends' onClick={() => setEnds('')}>
                清除
              </View>
            ) : null}
          </View>
          {lines.map((l, n) => (
            <View key={n} className='instalment-line'>
              <View className='label'>第 {n + 1} 期：金额与到期日</View>
              <View className='row'>
                <Input className='input line-amount' value={l.amount} placeholder='如 30万' onInput={(e) => setLine(n, { amount: e.detail.value })} />
                <Picker mode='date' value={l.due_date} onChange={(e) => setLine(n, { due_date: e.detail.value })}>
                  <View className='input line-due'>{l.due_date}</View>
                </Picker>
              </View>
            </View>
          ))}
          <View className='row'>
            <View className='chip add-line' onClick={() => setLines([...lines, { amount: '', due_date: lines[lines.length - 1]?.due_date || signed }])}>
              ＋ 加一期
            </View>
            {lines.length > (c?.instalments.length || 1) ? (
              <View className='chip' onClick={() => setLines(lines.slice(0, -1))}>
                － 去掉最后一期
              </View>
            ) : null}
          </View>
          <Button onClick={save} busy={busy}>
            保存回款计划
          </Button>
          <Button kind='secondary' onClick={() => setEditing(false)}>
            取消
          </Button>
        </View>
      ) : null}
      <Message error={error} ok={ok} />
    </View>
  )
}
