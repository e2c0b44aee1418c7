import { useState } from 'react'
import { View, Text, Input } from '@tarojs/components'
import { api, query, S } from '../../api/client'
import { Page, Message, Empty, go } from '../../components/ui'
import { useData } from '../../lib/useLoad'
import { HEALTH_COLOUR } from '../../lib/format'

export default function Customers() {
  const [text, setText] = useState('')
  const [q, setQ] = useState('')
  const digits = /^[\d\s+-]{3,}$/.test(q.trim())
  const { data, error } = useData(
    () => api<S<'CustomerPage'>>('GET', '/customers' + query(digits ? { phone: q.trim(), per_page: 50 } : { q: q.trim(), per_page: 50 })),
    [q],
  )
  return (
    <Page title='客户' tab='customers'>
      <Input
        className='input search'
        placeholder='名称、手机号或拼音首字母（如 hsyy）'
        value={text}
        confirmType='search'
        onInput={(e) => setText(e.detail.value)}
        onConfirm={() => setQ(text)}
        onBlur={() => setQ(text)}
      />
      <Message error={error} />
      <View className='card'>
        {data && data.items.length === 0 ? <Empty text='没有找到客户' /> : null}
        {data?.items.map((c) => (
          <View key={c.id} className='item customer' onClick={() => go(`/pages/customer/index?id=${c.id}`)}>
            <View className='row'>
              <Text>
                <Text className='dot' style={{ background: HEALTH_COLOUR[c.health] || '#999' }} />
                {c.name}
              </Text>
              <Text className='muted'>{c.grade || ''}</Text>
            </View>
            <View className='muted'>
              {c.kind_label} · {c.contacts.length} 位联系人
            </View>
          </View>
        ))}
        {data && data.total > data.items.length ? <Empty text={`共 ${data.total} 个，请输入关键字缩小范围`} /> : null}
      </View>
    </Page>
  )
}
