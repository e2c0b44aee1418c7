// 触点日志: a new touchpoint for a customer (?customer_id=), or a correction of one already logged (?id=), e.g. a
// voice note the chat turned into text.
import { useRouter } from '@tarojs/taro'
import { api, S } from '../../api/client'
import { Page, Message } from '../../components/ui'
import { TouchpointForm } from '../../components/TouchpointForm'
import { useData } from '../../lib/useLoad'

type Loaded = { customer: S<'CustomerOut'>; touchpoint: S<'TouchpointOut'> | null }

async function load(touchpointId: number, customerId: number): Promise<Loaded> {
  const touchpoint = touchpointId ? await api<S<'TouchpointOut'>>('GET', `/touchpoints/${touchpointId}`) : null
  const customer = await api<S<'CustomerOut'>>('GET', `/customers/${touchpoint ? touchpoint.customer_id : customerId}`)
  return { customer, touchpoint }
}

export default function TouchpointPage() {
  const params = useRouter().params
  const touchpointId = Number(params.id || 0)
  const customerId = Number(params.customer_id || 0)
  const { data, error } = useData(() => load(touchpointId, customerId), [touchpointId, customerId])
  return (
    <Page title={touchpointId ? '修改触点' : '触点日志'}>
      <Message error={error} />
      {data ? (
        <TouchpointForm seed={{ touchpoint: data.touchpoint, customerId: data.customer.id, customerName: data.customer.name, contacts: data.customer.contacts }} />
      ) : null}
    </Page>
  )
}
