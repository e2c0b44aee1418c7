// Choosing a file: an <input type="file"> on H5 (photos, PDFs, PPTs, voice recordings, Excel sheets alike);
// the mini-program's own pickers elsewhere.
import Taro from '@tarojs/taro'
import type { Picked } from '../api/client'

export type Kind = 'image' | 'file' | 'audio' | 'sheet'

const ACCEPT: Record<Kind, string> = {
  image: 'image/*',
  file: 'image/*,application/pdf,.ppt,.pptx,.pdf',
  audio: 'audio/*,.amr,.silk,.m4a,.mp3,.wav',
  sheet: '.xlsx,.xls,.csv',
}

export function pick(kind: Kind, capture = false): Promise<Picked | null> {
  if (process.env.TARO_ENV === 'h5') {
    return new Promise((resolve) => {
      const input = document.createElement('input')
      input.type = 'file'
      input.accept = ACCEPT[kind]
      if (capture && kind === 'image') input.setAttribute('capture', 'environment')
      input.style.display = 'none'
      input.setAttribute('data-pick', kind)
      input.onchange = () => {
        const file = input.files && input.files[0]
        input.remove()
        resolve(file ? { name: file.name, file } : null)
      }
      document.body.appendChild(input)
      input.click()
    })
  }
  if (kind === 'image') {
    return Taro.chooseImage({ count: 1, sourceType: capture ? ['camera'] : ['album', 'camera'] }).then((r) => ({
      name: 'photo.jpg',
      path: r.tempFilePaths[0],
    }))
  }
  return Taro.chooseMessageFile({ count: 1, type: 'file' }).then((r) => ({ name: r.tempFiles[0].name, path: r.tempFiles[0].path }))
}
