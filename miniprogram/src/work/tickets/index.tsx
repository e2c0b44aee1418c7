import { View, Text } from '@tarojs/components'
import { api, S } from '../../api/client'
import { Page, Message, Empty, go } from '../../components/ui'
import { useData } from '../../lib/useLoad'
import { when } from '../../lib/format'

export default function Tickets() {
  const { data, error } = useData(() => api<S<'TicketPage'>>('GET', '/tickets?per_page=50'))
  return (
    <Page title='跨部门协同单'>
      <Message error={error} />
      <View className='card'>
        {data && data.items.length === 0 ? <Empty text='没有与您相关的协同单' /> : null}
        {data?.items.map((t) => (
          <View key={t.id} className='item ticket' onClick={() => go(`/work/ticket/index?id=${t.id}`)}>
            <View className='row'>
              <Text>{t.opportunity_title}</Text>
              <Text className='badge'>{t.status_label}</Text>
            </View>
            <View className='muted'>
              {t.reason} · {when(t.opened_at)} · {t.parts.filter((p) => p.status === 'open').length} 项待响应
            </View>
          </View>
        ))}
      </View>
    </Page>
  )
}
