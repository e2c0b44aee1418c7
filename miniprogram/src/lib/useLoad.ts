import { useCallback, useEffect, useState } from 'react'
import { ApiError } from '../api/client'

/** Load something once (and again on `reload()`); errors become a Chinese message. */
export function useData<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [tick, setTick] = useState(0)
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps)
  useEffect(() => {
    let live = true
    run()
      .then((d) => live && (setData(d), setError(null)))
      .catch((e) => live && setError(message(e)))
    return () => {
      live = false
    }
  }, [run, tick])
  return { data, error, reload: () => setTick((t) => t + 1), setData }
}

export function message(e: unknown): string {
  if (e instanceof ApiError) return e.message
  return '网络不通或服务器暂时无法访问，请稍后再试'
}
