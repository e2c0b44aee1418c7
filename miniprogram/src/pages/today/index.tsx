import { View, Text } from '@tarojs/components'
import { api, S } from '../../api/client'
import { Page, Message, Empty, go } from '../../components/ui'
import { useData } from '../../lib/useLoad'
import { fen, when } from '../../lib/format'

export default function Today() {
  const { data, error } = useData(() => api<S<'TodayOut'>>('GET', '/today'))
  const open = (t: S<'TodoOut'>) => {
    if (t.opportunity_id) go(`/pages/deal/index?id=${t.opportunity_id}`)
    else if (t.customer_id) go(`/pages/customer/index?id=${t.customer_id}`)
  }
  return (
    <Page title='今日作战包' tab='today'>
      <Message error={error} />
      <View className='card'>
        <View className='card-title'>今天先做这几件</View>
        {data && data.todos.length === 0 ? <Empty text='今天没有待办，去客户那里看看吧' /> : null}
        {data?.todos.map((t, i) => (
          <View key={`${t.source}-${t.source_id}`} className='item todo' onClick={() => open(t)}>
            <View className='row'>
              <Text>
                {i + 1}. {t.action}
              </Text>
              {t.overdue ? <Text className='badge red'>已逾期</Text> : <Text className='badge'>{t.source_label}</Text>}
            </View>
            <View className='muted'>
              {t.who}
              {t.deadline ? ` · 截止 ${when(t.deadline)}` : ''}
            </View>
          </View>
        ))}
        {!data && !error ? <Empty text='加载中…' /> : null}
      </View>
      {data?.lead ? (
        <View className='card' onClick={() => go(`/pages/deal/index?id=${data.lead?.opportunity_id}`)}>
          <View className='card-title'>值得复盘：{data.lead.title}</View>
          <View className='muted'>
            {data.lead.customer_name} · {data.lead.stage_name} · {fen(data.lead.amount_fen)}
          </View>
          <View className='muted'>{data.lead.similarity}</View>
          <View>{data.lead.suggestion}</View>
        </View>
      ) : null}
      {data?.material ? (
        <View className='card'>
          <View className='card-title'>推荐资料：{data.material.title}</View>
          <View className='muted'>{data.material.reason}</View>
        </View>
      ) : null}
    </Page>
  )
}
