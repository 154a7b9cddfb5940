/**
 * Reading a secret from the terminal as age's term.ReadSecret does (sops asks for identity-file
 * passphrases and plugin secrets this way): /dev/tty (or standard input when that is a
 * terminal), the prompt and a space written to it, the answer read without echo, and the line
 * cleared afterwards. With no terminal at all it fails at once with age's error, never waits.
 */
import fs from 'node:fs'
import type { ReadStream } from 'node:tty'
import { goOpenError } from './go-text.js'

/** Go's term.ReadPassword is interrupted by ^C; these end the line. */
const ENTER = new Set(['\r', '\n'])
const ERASE = new Set(['\x7f', '\b'])
const CLEAR_LINE = '\r\n\x1b[F\x1b[K'

/** Prompts wait for each other: key groups unwrap in parallel, and one terminal takes one answer at a time. */
let queue: Promise<unknown> = Promise.resolve()

export function readSecret(prompt: string): Promise<string> {
  const answer = queue.then(() => askTerminal(prompt))
  queue = answer.catch(() => undefined)
  return answer
}

async function askTerminal(prompt: string): Promise<string> {
  const tty = await import('node:tty') // loaded only when a prompt is needed
  const fd = openTerminal(tty.isatty(0))
  const input = new tty.ReadStream(fd)
  try {
    fs.writeSync(fd, `${prompt} `)
    input.setRawMode(true)
    return await readLine(input)
  } finally {
    input.setRawMode(false)
    fs.writeSync(fd, CLEAR_LINE)
    input.destroy() // closes the descriptor when it was /dev/tty's
  }
}

function openTerminal(stdinIsTerminal: boolean): number {
  try {
    return fs.openSync('/dev/tty', 'r+')
  } catch (e) {
    if (stdinIsTerminal) return fs.openSync('/dev/stdin', 'r+')
    throw new Error(`standard input is not a terminal, and /dev/tty is not available: ${goOpenError('/dev/tty', e)}`)
  }
}

/** One line typed without echo: backspace edits, ^C cancels, ^D on an empty line is EOF. */
function readLine(input: ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let line = ''
    const finish = (fn: () => void) => {
      input.off('data', onData)
      input.off('error', onError)
      input.pause()
      fn()
    }
    const onError = (e: Error) => finish(() => reject(e))
    const onData = (chunk: Buffer) => {
      for (const c of chunk.toString('utf8')) {
        if (ENTER.has(c)) return finish(() => resolve(line))
        if (c === '\x03') return finish(() => reject(new Error('interrupted')))
        if (c === '\x04' && line === '') return finish(() => reject(new Error('EOF')))
        if (ERASE.has(c)) line = [...line].slice(0, -1).join('')
        else line += c
      }
    }
    input.on('data', onData)
    input.on('error', onError)
    input.resume()
  })
}
