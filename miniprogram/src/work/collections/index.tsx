// 回款台账: the open receivables the viewer may see (a rep their own, a manager their team's), aged, with the
// on-time rate the credit check uses; ?customer_id= narrows it to one customer.
import { useRouter } from '@tarojs/taro'
import { View, Text } from '@tarojs/components'
import { api, S } from '../../api/client'
import { Page, Message, Empty, go } from '../../components/ui'
import { useData } from '../../lib/useLoad'
import { fen } from '../../lib/format'

export default function Collections() {
  const customerId = useRouter().params.customer_id
  const path = customerId ? `/collections?customer_id=${Number(customerId)}` : '/collections'
  const { data, error } = useData(() => api<S<'CollectionsOut'>>('GET', path), [path])
  const rate = data?.on_time_rate
  return (
    <Page title={customerId && data?.items[0] ? `${data.items[0].customer_name} · 回款` : '回款台账'}>
      <Message error={error} />
      {data ? (
        <View className='card figures'>
          <View className='row'>
            <Text>未回款 {fen(data.outstanding_fen)}</Text>
            <Text className={'badge' + (data.overdue_fen ? ' red' : '')}>{data.overdue_fen ? `逾期 ${fen(data.overdue_fen)}` : '无逾期'}</Text>
          </View>
          <View className='muted on-time'>
            按时回款率（近 {data.window_months} 个月）：
            {rate === null || rate === undefined
              ? data.on_time_note || '窗口内没有到期的应收'
              : `${Math.round(rate * 100)}%（${data.on_time_receivables} 笔到期，${data.on_time_late} 笔逾期；与信用校验同口径）`}
          </View>
          <View className='buckets'>
            {data.buckets.map((b) => (
              <View key={b.label} className={'bucket' + (b.label !== '未到期' && b.count ? ' red' : '')}>
                <View className='muted'>{b.label}</View>
                <View>{b.count} 笔</View>
                <View className='muted'>{fen(b.outstanding_fen)}</View>
              </View>
            ))}
          </View>
        </View>
      ) : null}
      <View className='card'>
        {data && data.items.length === 0 ? <Empty text='没有未回款的应收' /> : null}
        {data?.items.map((r) => (
          <View
            key={r.receivable_id}
            className='item receivable'
            onClick={() => (r.opportunity_id ? go(`/pages/deal/index?id=${r.opportunity_id}`) : go(`/pages/customer/index?id=${r.customer_id}`))}
          >
            <View className='row'>
              <Text>
                {r.customer_name} · {r.what}
              </Text>
              <Text className={'badge' + (r.days_overdue ? ' red' : '')}>{r.days_overdue ? `逾期 ${r.days_overdue} 天` : '未到期'}</Text>
            </View>
            <View className='muted'>
              {r.due_date} 到期 · 未回款 {fen(r.outstanding_fen)} · {r.owner_name}
            </View>
          </View>
        ))}
      </View>
    </Page>
  )
}
