import { useState } from 'react'
import { View, Text, Input, Picker } from '@tarojs/components'
import { api, query, S } from '../../api/client'
import { Page, Message, Button, Empty } from '../../components/ui'
import { useData, message } from '../../lib/useLoad'
import { when } from '../../lib/format'

// 公海: customers nobody follows up any more, or whose rep left. A rep claims within the daily quota; a manager
// assigns to someone in the team. The server refuses in Chinese (quota, cool-down, too fast), shown as is.
export default function Pool() {
  const [q, setQ] = useState('')
  const [searched, setSearched] = useState('')
  const pool = useData(() => api<S<'PoolOut'>>('GET', '/pool' + query({ q: searched || undefined, limit: 100 })), [searched])
  const [error, setError] = useState<string | null>(null)
  const [ok, setOk] = useState<string | null>(null)
  const [busy, setBusy] = useState<number | null>(null)
  const [assignee, setAssignee] = useState(0)

  const act = async (entryId: number, assign: boolean) => {
    setBusy(entryId)
    setError(null)
    setOk(null)
    try {
      const rep = pool.data?.assignees[assignee]
      const out = assign
        ? await api<S<'PoolTakenOut'>>('POST', `/pool/${entryId}/assign`, { rep_id: rep?.id })
        : await api<S<'PoolTakenOut'>>('POST', `/pool/${entryId}/claim`)
      setOk(assign ? `已把「${out.customer_name}」分配给${out.owner_name}` : `已领取「${out.customer_name}」，请尽快跟进`)
      pool.reload()
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(null)
    }
  }

  const p = pool.data
  return (
    <Page title='公海客户'>
      <Message error={pool.error || error} ok={ok} />
      {p ? (
        <View className='card'>
          <View className='muted'>
            今天已领取 {p.quota.claimed_today}/{p.quota.claims_per_day} 个 · 持有客户 {p.quota.held}/{p.quota.max_held} 个
          </View>
          {p.can_assign && p.assignees.length > 0 ? (
            <Picker mode='selector' range={p.assignees.map((a) => a.name)} value={assignee} onChange={(e) => setAssignee(Number(e.detail.value))}>
              <View className='item row'>
                <Text>分配给</Text>
                <Text className='badge'>{p.assignees[assignee]?.name}</Text>
              </View>
            </Picker>
          ) : null}
        </View>
      ) : null}
      <View className='card'>
        <View className='row'>
          <Input className='input' value={q} placeholder='按客户名称查找' onInput={(e) => setQ(e.detail.value)} onConfirm={() => setSearched(q.trim())} />
          <Text className='chip' style={{ whiteSpace: 'nowrap', flexShrink: 0, marginLeft: '8px' }} onClick={() => setSearched(q.trim())}>
            查找
          </Text>
        </View>
      </View>
      <View className='card'>
        {p && p.items.length === 0 ? <Empty text={searched ? `公海中没有名称含「${searched}」的客户` : '公海中暂时没有客户'} /> : null}
        {p?.items.map((item) => (
          <View key={item.entry_id} className='item pool-entry'>
            <View className='row'>
              <Text>
                {item.name}（编号 {item.entry_id}）
              </Text>
              <Text className='badge'>{item.reason}</Text>
            </View>
            <View className='muted'>
              {[item.grade, item.kind_label, item.region].filter(Boolean).join(' · ')} · 入公海 {item.days_in_pool} 天
              {item.open_deals ? ` · ${item.open_deals} 个进行中商机` : ''}
            </View>
            {item.cooldown_until ? <View className='muted'>您是原负责人，{when(item.cooldown_until)} 后可领取</View> : null}
            <View className='row'>
              <Button onClick={() => act(item.entry_id, false)} busy={busy === item.entry_id}>
                领取
              </Button>
              {p.can_assign && p.assignees.length > 0 ? (
                <Button onClick={() => act(item.entry_id, true)} busy={busy === item.entry_id}>
                  分配给{p.assignees[assignee]?.name}
                </Button>
              ) : null}
            </View>
          </View>
        ))}
      </View>
    </Page>
  )
}
