// A scanned QR code lands here: the H5 link carries ?scene=…, the mini-program code passes `scene` too.
import { useRouter } from '@tarojs/taro'
import { api, S } from '../../api/client'
import { Page, Message } from '../../components/ui'
import { TouchpointForm } from '../../components/TouchpointForm'
import { useData } from '../../lib/useLoad'

export default function Scan() {
  const params = useRouter().params
  const scene = decodeURIComponent(params.scene || '')
  const { data, error } = useData(() => api<S<'SceneFormOut'>>('GET', `/qrcodes/scene/${encodeURIComponent(scene)}`), [scene])
  const p = data?.prefill
  return (
    <Page title={data?.form === 'expo_lead' ? '展会线索' : '触点日志'}>
      <Message error={scene ? error : '二维码缺少场景参数，请重新扫码'} />
      {p ? (
        <TouchpointForm
          seed={{ customerId: p.customer_id, customerName: p.customer_name, contacts: p.contacts, type: p.type, summary: p.summary, expo: p.expo }}
        />
      ) : null}
    </Page>
  )
}
