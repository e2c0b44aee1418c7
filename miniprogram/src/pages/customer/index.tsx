import { useState } from 'react'
import Taro, { useRouter } from '@tarojs/taro'
import { View, Text } from '@tarojs/components'
import { api, query, S } from '../../api/client'
import { Page, Message, Empty, Button, Chips, go } from '../../components/ui'
import { useData, message } from '../../lib/useLoad'
import { HEALTH_COLOUR, fen, when } from '../../lib/format'
import { DECISION_ROLES, DecisionRole, options } from '../../lib/codes'

const ROLES = options(DECISION_ROLES)

function ContactRow({ contact }: { contact: S<'ContactOut'> }) {
  const [role, setRole] = useState<DecisionRole | null>(contact.decision_role || null)
  const [label, setLabel] = useState<string | null>(contact.decision_role_label || null)
  const [editing, setEditing] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const save = async (code: DecisionRole) => {
    const next = code === role ? null : code
    try {
      const out = await api<S<'ContactOut'>>('PATCH', `/contacts/${contact.id}`, { decision_role: next })
      setRole(out.decision_role || null)
      setLabel(out.decision_role_label || null)
      setEditing(false)
      setError(null)
    } catch (e) {
      setError(message(e))
    }
  }
  return (
    <View className='item contact'>
      <View className='row' onClick={() => setEditing(!editing)}>
        <Text>
          {contact.name} <Text className='muted'>{contact.title || ''}</Text>
        </Text>
        <Text className={'badge' + (label ? '' : ' red')}>{label || '角色未定'} ✎</Text>
      </View>
      {editing ? <Chips options={ROLES} value={role} onChange={save} label='决策角色' /> : null}
      <Message error={error} />
    </View>
  )
}

function TagsRow({ customer }: { customer: S<'CustomerOut'> }) {
  const [held, setHeld] = useState(customer.tag_list)
  const [editing, setEditing] = useState(false)
  const [manual, setManual] = useState<S<'TagDefinitionOut'>[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const open = async () => {
    setEditing(!editing)
    if (manual === null) {
      try {
        const out = await api<S<'TagListOut'>>('GET', '/tags')
        setManual(out.items.filter((t) => t.kind === 'manual'))
      } catch (e) {
        setError(message(e))
      }
    }
  }
  const toggle = async (code: string) => {
    try {
      if (held.some((t) => t.code === code)) {
        await api('DELETE', `/customers/${customer.id}/tags/${encodeURIComponent(code)}`)
        setHeld(held.filter((t) => t.code !== code))
      } else {
        const put = await api<S<'HeldTagOut'>>('POST', `/customers/${customer.id}/tags`, { tag: code })
        setHeld([...held, put].sort((a, b) => a.label.localeCompare(b.label, 'zh-CN')))
      }
      setError(null)
    } catch (e) {
      setError(message(e))
    }
  }
  return (
    <View className='tags'>
      <View className='row' onClick={open}>
        <Text>
          {held.length === 0 ? <Text className='muted'>暂无标签</Text> : null}
          {held.map((t) => (
            <Text key={t.code} className={'badge' + (t.kind === 'rule' ? ' rule' : '')}>
              {t.label}
            </Text>
          ))}
        </Text>
        <Text className='muted'>标签 ✎</Text>
      </View>
      {customer.lifecycle ? (
        <View className='muted lifecycle'>
          生命周期：<Text className={'badge' + (customer.lifecycle === 'churn_risk' ? ' red' : '')}>{customer.lifecycle_label}</Text>
        </View>
      ) : null}
      {editing && manual ? (
        manual.length === 0 ? (
          <View className='muted'>管理员还没有定义可手动添加的标签</View>
        ) : (
          <Chips
            options={manual.map((t) => ({ value: t.code, text: t.label }))}
            value={held.map((t) => t.code)}
            onChange={toggle}
            label='手动标签'
          />
        )
      ) : null}
      {editing ? <View className='muted'>规则标签由系统自动计算，不能手动添加</View> : null}
      <Message error={error} />
    </View>
  )
}

export default function Customer() {
  const id = Number(useRouter().params.id)
  const customer = useData(() => api<S<'CustomerDetailOut'>>('GET', `/customers/${id}`), [id])
  const touchpoints = useData(() => api<S<'TouchpointPage'>>('GET', '/touchpoints' + query({ customer_id: id, per_page: 10 })), [id])
  const deals = useData(() => api<S<'OpportunityPage'>>('GET', '/opportunities' + query({ customer_id: id })), [id])
  const [diagnosis, setDiagnosis] = useState<S<'DiagnosisOut'> | null>(null)
  const [brief, setBrief] = useState<S<'BriefOut'> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const c = customer.data
  const loadBrief = async () => {
    try {
      setBrief(await api<S<'BriefOut'>>('GET', `/customers/${id}/brief`))
    } catch (e) {
      setError(message(e))
    }
  }
  const diagnose = async () => {
    try {
      setDiagnosis(await api<S<'DiagnosisOut'>>('GET', `/customers/${id}/diagnosis`))
    } catch (e) {
      setError(message(e))
    }
  }
  return (
    <Page title={c ? c.name : '客户'}>
      <Message error={customer.error || error} />
      {c ? (
        <View className='card'>
          <View className='row'>
            <Text>
              <Text className='dot' style={{ background: HEALTH_COLOUR[c.health] || '#999' }} />
              健康度：{c.health_label}
            </Text>
            <Text className='muted'>
              {c.kind_label} {c.grade || ''} {c.region || ''}
            </Text>
          </View>
          <TagsRow key={c.id} customer={c} />
          {c.overdue_receivable_fen ? (
            <View className='warn overdue' onClick={() => go(`/work/collections/index?customer_id=${id}`)}>
              逾期回款 {fen(c.overdue_receivable_fen)} · 查看回款 ›
            </View>
          ) : null}
          <Button kind='secondary' onClick={diagnose}>
            诊断
          </Button>
          {diagnosis ? (
            <View className='diagnosis'>
              {diagnosis.findings.map((f, i) => (
                <View key={i} className='item'>
                  <Text className={'badge' + (f.severity === 'bad' ? ' red' : '')}>{f.area_label}</Text> {f.text}
                </View>
              ))}
              {diagnosis.deals.map((d) =>
                d.win ? (
                  <View key={'w' + d.opportunity_id} className='item win'>
                    <Text className='badge'>赢单概率</Text> 「{d.title}」{d.win.percent}%
                    {d.win.reasons.map((r) => (
                      <View key={r.text} className={r.helps ? 'reason helps' : 'reason hurts'}>
                        {r.helps ? '↑ ' : '↓ '}
                        {r.text}
                      </View>
                    ))}
                  </View>
                ) : null,
              )}
              {diagnosis.journeys
                .filter((j) => j.state === 'active')
                .map((j) => (
                  <View key={'j' + j.journey_id} className='item journey'>
                    <Text className={'badge' + (j.overdue ? ' red' : '')}>客户旅程</Text> {j.summary}
                  </View>
                ))}
              {diagnosis.next_steps.map((s, i) => (
                <View key={'n' + i} className='muted'>
                  建议：{String(s)}
                </View>
              ))}
            </View>
          ) : null}
          <Button kind='secondary' onClick={loadBrief}>
            拜访简报
          </Button>
          {brief ? (
            <View className='brief'>
              <View className='muted'>最可能的异议（依据{brief.objection_group}的 {brief.objection_group_size} 条异议）</View>
              {brief.objections.length === 0 ? <View className='muted'>历史中还没有相似商机的异议记录</View> : null}
              {brief.objections.map((o, i) => (
                <View key={o.objection} className='item'>
                  {i + 1}. {o.objection}：出现 {o.count} 次{o.won_answer ? `；赢单前的应对：${o.won_answer}` : ''}
                </View>
              ))}
              {brief.open_items.map((item) => (
                <View key={item} className='muted'>
                  未结：{item}
                </View>
              ))}
              {brief.talk_track ? <View className='muted'>本阶段话术：{brief.talk_track.title}</View> : null}
            </View>
          ) : null}
        </View>
      ) : null}
      {c && c.journeys.length > 0 ? (
        <View className='card journeys'>
          <View className='card-title'>客户旅程</View>
          {c.journeys.map((j) => (
            <View key={j.journey_id + '-' + j.entered_at} className='item journey'>
              <View className='row'>
                <Text>{j.journey_name}</Text>
                <Text className={'badge' + (j.overdue ? ' red' : '')}>{j.overdue ? '已超时' : j.state_label}</Text>
              </View>
              {j.state === 'active' ? (
                <View className='muted'>
                  {j.step_title ? `当前：${j.step_title}` : '进行中'}
                  {j.step_state_label ? ` · ${j.step_state_label}` : ''}
                  {j.due_at
                    ? j.due_step_title && j.due_step_title !== j.step_title
                      ? ` · 「${j.due_step_title}」截止 ${when(j.due_at)}`
                      : ` · 截止 ${when(j.due_at)}`
                    : ''}
                </View>
              ) : (
                <View className='muted'>
                  {j.ended_at ? `${when(j.ended_at)} ${j.state_label}` : j.state_label}
                  {j.exit_reason ? `（${j.exit_reason}）` : ''}
                </View>
              )}
            </View>
          ))}
        </View>
      ) : null}
      {c ? (
        <View className='card'>
          <View className='card-title'>联系人与决策角色</View>
          {c.contacts.length === 0 ? <Empty text='还没有联系人' /> : null}
          {c.contacts.map((ct) => (
            <ContactRow key={ct.id} contact={ct} />
          ))}
        </View>
      ) : null}
      <Button onClick={() => go(`/pages/touchpoint/index?customer_id=${id}`)}>记录触点</Button>
      <View className='card' style={{ marginTop: '12px' }}>
        <View className='card-title'>商机</View>
        {deals.data && deals.data.items.length === 0 ? <Empty text='暂无商机' /> : null}
        {deals.data?.items.map((d) => (
          <View key={d.id} className='item deal' onClick={() => go(`/pages/deal/index?id=${d.id}`)}>
            <View className='row'>
              <Text>{d.title}</Text>
              <Text className='badge'>{d.stage.name}</Text>
            </View>
            <View className='muted'>
              {fen(d.expected_amount_fen)} · {d.status_label}
              {d.approval_frozen ? ' · 已冻结' : ''}
            </View>
          </View>
        ))}
      </View>
      <View className='card'>
        <View className='card-title'>最近触点</View>
        {touchpoints.data && touchpoints.data.items.length === 0 ? <Empty text='暂无触点' /> : null}
        {touchpoints.data?.items.map((t) => (
          <View key={t.id} className='item touchpoint' onClick={() => go(`/pages/touchpoint/index?id=${t.id}`)}>
            <View className='row'>
              <Text>
                {t.type_label} · {t.emotion_label}
              </Text>
              <Text className='muted'>{when(t.occurred_at)}</Text>
            </View>
            <View className='muted'>{t.summary || '（无纪要）'}</View>
            {t.next_action ? <View className='muted'>下一步：{t.next_action}</View> : null}
            <View className='muted'>点此修改 ›</View>
          </View>
        ))}
      </View>
      {c ? (
        <Button kind='secondary' onClick={() => Taro.navigateBack().catch(() => Taro.reLaunch({ url: '/pages/customers/index' }))}>
          返回
        </Button>
      ) : null}
    </Page>
  )
}
