import { View, Text } from '@tarojs/components'
import { api, S } from '../../api/client'
import { Page, Message, Empty, go } from '../../components/ui'
import { useData } from '../../lib/useLoad'
import { fen, when } from '../../lib/format'

export default function Deals() {
  const { data, error } = useData(() => api<S<'OpportunityPage'>>('GET', '/opportunities?status=open&per_page=100'))
  return (
    <Page title='进行中的商机' tab='deals'>
      <Message error={error} />
      <View className='card'>
        {data && data.items.length === 0 ? <Empty text='没有进行中的商机' /> : null}
        {data?.items.map((d) => (
          <View key={d.id} className='item deal' onClick={() => go(`/pages/deal/index?id=${d.id}`)}>
            <View className='row'>
              <Text>{d.title}</Text>
              <Text className={'badge' + (d.approval_frozen ? ' red' : '')}>{d.approval_frozen ? '已冻结' : d.stage.name}</Text>
            </View>
            <View className='muted'>
              {d.customer_name} · {fen(d.expected_amount_fen)} · 最近跟进 {when(d.last_follow_up_at)}
            </View>
          </View>
        ))}
      </View>
    </Page>
  )
}
