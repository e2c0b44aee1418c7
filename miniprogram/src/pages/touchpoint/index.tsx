import { useRouter } from '@tarojs/taro'
import { api, S } from '../../api/client'
import { Page, Message } from '../../components/ui'
import { TouchpointForm } from '../../components/TouchpointForm'
import { useData } from '../../lib/useLoad'

export default function TouchpointPage() {
  const id = Number(useRouter().params.customer_id)
  const { data, error } = useData(() => api<S<'CustomerOut'>>('GET', `/customers/${id}`), [id])
  return (
    <Page title='触点日志'>
      <Message error={error} />
      {data ? <TouchpointForm seed={{ customerId: data.id, customerName: data.name, contacts: data.contacts }} /> : null}
    </Page>
  )
}
