/**
 * Running the user's editor on a private temp file, as sops's edit does (spec §9.3):
 * `$SOPS_EDITOR`, else `$EDITOR`, split shell-style with the file appended; else the first of
 * vim, nano, vi on PATH. The file lives in a fresh 0700 directory, is created 0600, and the
 * directory is removed afterwards whatever happens.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { EditorError } from '../core/errors.js'

/** POSIX shell word splitting (quotes and backslashes), enough for editor commands. */
export function shellWords(s: string): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === "'") {
      const end = s.indexOf("'", i + 1)
      if (end === -1) throw new EditorError('Could not run editor: unterminated quote in the editor command')
      cur += s.slice(i + 1, end)
      i = end
      inWord = true
    } else if (c === '"') {
      i++
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) i++
        cur += s[i]
      }
      if (i >= s.length) throw new EditorError('Could not run editor: unterminated quote in the editor command')
      inWord = true
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
    } else {
      cur += c
      inWord = true
    }
  }
  if (inWord) words.push(cur)
  return words
}

function onPath(name: string, env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

export function editorCommand(env: Readonly<Record<string, string | undefined>>): string[] {
  const configured = env.SOPS_EDITOR || env.EDITOR
  if (configured) {
    const words = shellWords(configured)
    if (words.length > 0) return words
  }
  const found = ['vim', 'nano', 'vi'].find((name) => onPath(name, env))
  if (!found) throw new EditorError('Could not run editor: no editor found', { hint: 'Set SOPS_EDITOR or EDITOR.' })
  return [found]
}

/**
 * Write `text` to a private temp file named `name`, open the editor on it, and return what the
 * user saved. The temp directory is removed before returning.
 */
export function editInTempFile(name: string, text: Buffer, env: Readonly<Record<string, string | undefined>>): Buffer {
  const command = editorCommand(env)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-resolve-'))
  try {
    fs.chmodSync(dir, 0o700)
    const file = path.join(dir, path.basename(name))
    fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' })
    const r = spawnSync(command[0]!, [...command.slice(1), file], { stdio: 'inherit', env: env as NodeJS.ProcessEnv })
    if (r.error) throw new EditorError(`Could not run editor: ${(r.error as NodeJS.ErrnoException).code ?? 'failed to start'}`)
    if (r.status !== 0) throw new EditorError(`Could not run editor: it exited with status ${r.status ?? 'signal ' + String(r.signal)}`)
    return fs.readFileSync(file)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
