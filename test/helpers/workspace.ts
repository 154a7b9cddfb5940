// The set-up most CLI tests share: a private temp directory (removed after the file's tests), a
// throw-away age identity, a clean environment that decrypts with it, and the encrypt/decrypt
// round trips that must succeed silently.
import { afterAll, beforeAll, expect } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanEnv, runCli } from './cli.js'
import { testAgeIdentity } from './age.js'

export interface CliWorkspace {
  /** Created at once; removed after the file's tests. */
  dir: string
  /** Filled in before the file's tests run. */
  age: { identity: string; recipient: string }
  env(extra?: Record<string, string>): Record<string, string | undefined>
  /** Write `content` as `name` (in `where`, default `dir`) and encrypt it in place for `age`. */
  encrypted(name: string, content: string, where?: string): Promise<string>
  /** Decrypt `file` (with `extra` flags) to text; stderr must stay empty. */
  decrypted(file: string, ...extra: string[]): Promise<string>
}

export function cliWorkspace(prefix: string): CliWorkspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  const age = { identity: '', recipient: '' }
  beforeAll(async () => {
    Object.assign(age, await testAgeIdentity())
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = (extra: Record<string, string> = {}) => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...extra })
  return {
    dir,
    age,
    env,
    async encrypted(name, content, where = dir) {
      const file = path.join(where, name)
      fs.writeFileSync(file, content)
      const r = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      return file
    },
    async decrypted(file, ...extra) {
      const r = await runCli(['decrypt', ...extra, file], { env: env() })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      return r.stdout.toString()
    },
  }
}
