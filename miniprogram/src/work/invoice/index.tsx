import { useState } from 'react'
import { View, Text, Input } from '@tarojs/components'
import { upload, api, S } from '../../api/client'
import { Page, Message, Button, Chips, Empty } from '../../components/ui'
import { message } from '../../lib/useLoad'
import { pick } from '../../lib/pick'
import { fen, yuan, yuanToFen } from '../../lib/format'

type Key = keyof S<'InvoiceFieldsOut'>
// The money fields travel in fen; the rep reads and corrects them in yuan, as printed on the invoice.
const MONEY: Key[] = ['total_fen', 'amount_fen', 'tax_fen']
const FIELDS: { key: Key; text: string }[] = [
  { key: 'buyer', text: '购买方' },
  { key: 'number', text: '发票号码' },
  { key: 'code', text: '发票代码' },
  { key: 'date', text: '开票日期' },
  { key: 'total_fen', text: '价税合计（元）' },
  { key: 'amount_fen', text: '金额（元）' },
  { key: 'tax_fen', text: '税额（元）' },
  { key: 'seller', text: '销售方' },
]

/** 2026-04-01 → 4月1日 */
function day(iso: string): string {
  const [, m, d] = iso.split('-').map(Number)
  return `${m}月${d}日`
}

export default function Invoice() {
  const [reading, setReading] = useState<S<'InvoiceReadOut'> | null>(null)
  const [values, setValues] = useState<Record<string, string>>({})
  const [receivable, setReceivable] = useState<number | null>(null)
  const [paid, setPaid] = useState<S<'PaymentOut'> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const photo = async () => {
    const picked = await pick('image', true)
    if (!picked) return
    setBusy(true)
    setError(null)
    setPaid(null)
    try {
      const out = await upload<S<'InvoiceReadOut'>>('/invoices/ocr', picked)
      setReading(out)
      const f = out.fields
      setValues(
        Object.fromEntries(
          FIELDS.map(({ key }) => {
            const v = f[key]
            return [key, v === null || v === undefined ? '' : MONEY.includes(key) ? yuan(v as number) : String(v)]
          }),
        ),
      )
      setReceivable(out.match ? out.match.receivable_id : null)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const confirm = async () => {
    if (!reading || !receivable) return setError('请选择对应的应收款')
    setBusy(true)
    setError(null)
    try {
      const body: Record<string, unknown> = { receivable_id: receivable, attachment_id: reading.attachment_id }
      for (const { key, text } of FIELDS) {
        const typed = (values[key] || '').trim()
        if (!MONEY.includes(key)) body[key] = typed || null
        else if (!typed) body[key] = null
        else if (yuanToFen(typed) === null) throw new Error(`${text.replace('（元）', '')}格式不正确，例如 14000.00`)
        else body[key] = yuanToFen(typed)
      }
      const out = await api<S<'PaymentOut'>>('POST', '/invoices/confirm', body)
      setPaid(out)
      // what is still owed on that receivable is what the answer says now, not what the photo was matched against
      setReading({
        ...reading,
        candidates: reading.candidates.map((c) => (c.receivable_id === out.receivable_id ? { ...c, outstanding_fen: out.outstanding_fen } : c)),
      })
    } catch (e) {
      setError(e instanceof Error && !('status' in e) ? e.message : message(e))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Page title='发票登记回款'>
      <View className='card'>
        <View className='muted'>拍下发票，系统识别字段并匹配您客户的未结清应收款；核对后确认登记回款。</View>
        <Button onClick={photo} busy={busy}>
          {reading ? '重新拍照' : '拍发票照片'}
        </Button>
      </View>
      <Message error={error} />
      {reading ? (
        <View className='card invoice-fields'>
          <View className='card-title'>识别结果</View>
          <View className='muted'>
            {values.buyer || '购买方未识别'} · 价税合计 {values.total_fen || '—'} 元 · 发票号 {values.number || '—'}
          </View>
          <View className='label'>对应的应收款</View>
          {reading.candidates.length === 0 ? <Empty text='在您可见的客户中没有找到未结清的应收款' /> : null}
          <Chips
            options={reading.candidates.map((c) => ({
              value: c.receivable_id,
              text:
                `${c.customer_name} 待收 ${fen(c.outstanding_fen)} · ${day(c.due_date)}到期` +
                (c.invoice_no ? ` · ${c.invoice_no}` : '') +
                (c.invoice_no_matches ? ' · 发票号一致' : ''),
            }))}
            value={receivable}
            onChange={setReceivable}
            label='应收款'
          />
          {paid ? null : (
            <Button onClick={confirm} busy={busy}>
              确认回款
            </Button>
          )}
          {paid ? (
            <View className='ok paid'>
              {paid.created ? '已登记回款' : '这张发票此前已登记，未重复记录'}：{fen(paid.amount_fen)}，该笔应收款还剩 {fen(paid.outstanding_fen)}
            </View>
          ) : null}
          <View className='label'>核对识别的字段（可修改）</View>
          {FIELDS.map(({ key, text }) => {
            const conf = (reading.confidence as Record<string, number | undefined>)[key]
            return (
              <View key={key}>
                <View className='label'>
                  {text}
                  {conf !== undefined && conf < 0.8 ? <Text className='badge red'> 请核对</Text> : null}
                </View>
                <Input className={'input field-' + key} value={values[key] || ''} onInput={(e) => setValues({ ...values, [key]: e.detail.value })} />
              </View>
            )
          })}
        </View>
      ) : null}
    </Page>
  )
}
