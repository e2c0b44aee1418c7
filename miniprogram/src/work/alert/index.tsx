import { useState } from 'react'
import { useRouter } from '@tarojs/taro'
import { View, Text, Textarea } from '@tarojs/components'
import { api, upload, S } from '../../api/client'
import { Page, Message, Button, Empty } from '../../components/ui'
import { useData, message } from '../../lib/useLoad'
import { pick } from '../../lib/pick'
import { when } from '../../lib/format'

export default function Alert() {
  const id = Number(useRouter().params.id)
  const alert = useData(() => api<S<'AlertDetailOut'>>('GET', `/alerts/${id}`), [id])
  const [text, setText] = useState('')
  const [audio, setAudio] = useState<{ id: number; transcript: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [ok, setOk] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const voice = async () => {
    const picked = await pick('audio')
    if (!picked) return
    setBusy(true)
    try {
      const out = await upload<S<'VoiceOut'>>('/voice', picked)
      setAudio({ id: out.attachment_id, transcript: out.transcript })
      if (!text) setText(out.transcript)
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const send = async () => {
    setBusy(true)
    setError(null)
    try {
      await api<S<'AnnotationOut'>>('POST', '/annotations', {
        alert_id: id,
        text,
        audio_attachment_id: audio?.id || null,
        transcript: audio?.transcript || null,
      })
      setText('')
      setAudio(null)
      setOk('批注已发送，销售会在企业微信收到')
      alert.reload()
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const a = alert.data
  return (
    <Page title='预警批注'>
      <Message error={alert.error} />
      {a ? (
        <View className='card'>
          <View className='card-title'>{a.title}</View>
          <View className='muted'>
            {a.owner_name || ''} · {a.state_label} · {when(a.raised_at)}
          </View>
        </View>
      ) : null}
      <View className='card'>
        <View className='card-title'>写批注</View>
        <Textarea className='textarea annotation' value={text} placeholder='给销售的指导意见' onInput={(e) => setText(e.detail.value)} />
        <View className={'chip voice' + (audio ? ' on' : '')} style={{ marginTop: '8px' }} onClick={voice}>
          {audio ? '✓ 已附语音' : '🎤 语音批注'}
        </View>
        <Message error={error} ok={ok} />
        <Button onClick={send} busy={busy}>
          发送批注
        </Button>
      </View>
      <View className='card'>
        <View className='card-title'>已有批注</View>
        {a && a.annotations.length === 0 ? <Empty text='还没有批注' /> : null}
        {a?.annotations.map((n) => (
          <View key={n.id} className='item'>
            <View className='row'>
              <Text>{n.author_name}</Text>
              <Text className='muted'>{when(n.created_at)}</Text>
            </View>
            <View>{n.text || n.transcript || '（语音）'}</View>
          </View>
        ))}
      </View>
    </Page>
  )
}
