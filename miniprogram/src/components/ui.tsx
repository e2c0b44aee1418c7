import Taro from '@tarojs/taro'
import { View, Text } from '@tarojs/components'
import { PropsWithChildren } from 'react'

const TABS = [
  { key: 'today', text: '今日', url: '/pages/today/index' },
  { key: 'customers', text: '客户', url: '/pages/customers/index' },
  { key: 'deals', text: '商机', url: '/work/deals/index' },
  { key: 'more', text: '更多', url: '/pages/more/index' },
]

export function Nav({ active }: { active: string }) {
  return (
    <View className='nav'>
      {TABS.map((t) => (
        <View
          key={t.key}
          className={'nav-item' + (t.key === active ? ' on' : '')}
          onClick={() => t.key !== active && Taro.reLaunch({ url: t.url })}
        >
          {t.text}
        </View>
      ))}
    </View>
  )
}

export function Page({ title, tab, children }: PropsWithChildren<{ title: string; tab?: string }>) {
  return (
    <View className='page'>
      <View className='title'>{title}</View>
      {children}
      {tab ? <Nav active={tab} /> : null}
    </View>
  )
}

export function Chips<T extends string | number>({
  options,
  value,
  onChange,
  label,
}: {
  options: { value: T; text: string }[]
  value: T[] | T | null
  onChange: (v: T) => void
  label?: string
}) {
  const on = (v: T) => (Array.isArray(value) ? value.includes(v) : value === v)
  return (
    <View className='chips' aria-label={label}>
      {options.map((o) => (
        <View key={String(o.value)} className={'chip' + (on(o.value) ? ' on' : '')} onClick={() => onChange(o.value)}>
          {o.text}
        </View>
      ))}
    </View>
  )
}

export function Button({
  children,
  onClick,
  kind,
  busy,
}: PropsWithChildren<{ onClick: () => void; kind?: 'secondary' | 'danger'; busy?: boolean }>) {
  return (
    <View className={'btn' + (kind ? ' ' + kind : '') + (busy ? ' disabled' : '')} onClick={() => !busy && onClick()}>
      {busy ? '请稍候…' : children}
    </View>
  )
}

export function Message({ error, ok, warn }: { error?: string | null; ok?: string | null; warn?: string | null }) {
  return (
    <>
      {error ? <View className='error'>{error}</View> : null}
      {warn ? <View className='warn'>{warn}</View> : null}
      {ok ? <View className='ok'>{ok}</View> : null}
    </>
  )
}

export function Empty({ text }: { text: string }) {
  return (
    <View className='muted' style={{ padding: '12px 0' }}>
      <Text>{text}</Text>
    </View>
  )
}

export function go(url: string) {
  Taro.navigateTo({ url })
}
