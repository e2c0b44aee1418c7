// The choices a rep picks from, as the API's codes with the words shown on the chip. Answers carry their own
// Chinese (`type_label`, `status_label`, …) and are shown as they come; only a picker needs the words before
// anything is answered. Each table is typed by the API's own enum (schema.d.ts): a code added or renamed in the
// API breaks this build until the table names it.
import type { S } from '../api/client'

type Labels<T extends string> = Record<T, string>
export type Option<T extends string> = { value: T; text: string }

export function options<T extends string>(labels: Labels<T>): Option<T>[] {
  return (Object.keys(labels) as T[]).map((value) => ({ value, text: labels[value] }))
}

export type TouchpointType = S<'TouchpointIn'>['type']
export type Emotion = NonNullable<S<'TouchpointIn'>['emotion']>
export type DecisionRole = NonNullable<S<'ContactIn'>['decision_role']>
export type EnablementKind = S<'EnablementIn'>['kind']

export const TOUCHPOINT_TYPES: Labels<TouchpointType> = { visit: '面访', phone: '电话', wechat: '微信', expo: '展会' }
export const EMOTIONS: Labels<Emotion> = { positive: '积极', neutral: '中性', resistant: '抵触' }
export const DECISION_ROLES: Labels<DecisionRole> = { influencer: '影响者', purchaser: '采购者', user: '使用者', veto: '否决者' }
export const ENABLEMENT_KINDS: Labels<EnablementKind> = { whitepaper: '行业白皮书', expert_live: '专家直播', custom_case: '定制化案例' }
