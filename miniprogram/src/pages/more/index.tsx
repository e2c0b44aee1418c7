import { useEffect, useState } from 'react'
import { View, Text } from '@tarojs/components'
import { loadMe, S } from '../../api/client'
import { Page, go } from '../../components/ui'

const MANAGERS = ['manager', 'director', 'admin']

export default function More() {
  const [me, setMe] = useState<S<'UserOut'> | null>(null)
  useEffect(() => {
    loadMe()
      .then(setMe)
      .catch(() => undefined)
  }, [])
  const links = [
    ...(me && MANAGERS.includes(me.role) ? [{ text: '团队预警与批注', url: '/work/alerts/index' }] : []),
    { text: me && MANAGERS.includes(me.role) ? '团队商机' : '我的商机', url: '/work/deals/index' },
    { text: '发票登记回款', url: '/work/invoice/index' },
    { text: '回款台账（账龄与逾期）', url: '/work/collections/index' },
    { text: '跨部门协同单', url: '/work/tickets/index' },
    { text: '公海客户', url: '/work/pool/index' },
    { text: 'Excel 导入', url: '/work/import/index' },
  ]
  return (
    <Page title='更多' tab='more'>
      {me ? (
        <View className='card'>
          <Text>
            {me.name} · {me.role_label}
          </Text>
        </View>
      ) : null}
      <View className='card'>
        {links.map((l) => (
          <View key={l.url} className='item row' onClick={() => go(l.url)}>
            <Text>{l.text}</Text>
            <Text className='muted'>›</Text>
          </View>
        ))}
      </View>
    </Page>
  )
}
