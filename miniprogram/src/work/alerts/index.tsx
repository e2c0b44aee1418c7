import { View, Text } from '@tarojs/components'
import { api, S } from '../../api/client'
import { Page, Message, Empty, go } from '../../components/ui'
import { useData } from '../../lib/useLoad'
import { when } from '../../lib/format'

export default function Alerts() {
  const { data, error } = useData(() => api<S<'AlertPage'>>('GET', '/alerts?per_page=50'))
  return (
    <Page title='团队预警'>
      <Message error={error} />
      <View className='card'>
        {data && data.items.length === 0 ? <Empty text='没有未处理的预警' /> : null}
        {data?.items.map((a) => (
          <View key={a.id} className='item alert' onClick={() => go(`/work/alert/index?id=${a.id}`)}>
            <View className='row'>
              <Text>{a.title}</Text>
              <Text className={'badge' + (a.state === 'escalated' ? ' red' : '')}>{a.state_label}</Text>
            </View>
            <View className='muted'>
              {a.owner_name || ''} · {when(a.raised_at)} · 批注 {a.annotation_count} 条
            </View>
          </View>
        ))}
      </View>
    </Page>
  )
}
