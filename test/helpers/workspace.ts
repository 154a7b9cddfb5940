// Temp directories for tests. `tempWorkspace` is the one way a test file gets a private folder:
// it is created at once (so `dir` can be used while the file's tests are collected), filled with
// `write`, and removed after the file's tests (or after each test, with `perTest`). `cliWorkspace`
// adds what most CLI tests share: a throw-away age identity, a clean environment that decrypts
// with it, and the encrypt/decrypt round trips that must succeed silently.
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanEnv, runCli } from './cli.js'
import { testAgeIdentity } from './age.js'

export interface Workspace {
  /** The folder (under the system temp dir). With `perTest`, a new one for every test. */
  readonly dir: string
  /** The absolute path of `name` (slash-separated, relative to `dir`). */
  path(name: string): string
  /** Write `content` as `name` (parent folders created); returns its absolute path. */
  write(name: string, content: string | Uint8Array): string
  /** The text of `name`. */
  read(name: string): string
  /** A new, empty folder inside `dir`, named `prefix` plus random characters. */
  subdir(prefix: string): string
}

export interface WorkspaceOptions {
  /** A fresh folder for each test instead of one for the whole file. */
  perTest?: boolean
  /** Resolve symlinks in `dir` (macOS /var → /private/var), for tests comparing found paths. */
  realpath?: boolean
}

export function tempWorkspace(prefix: string, options: WorkspaceOptions = {}): Workspace {
  const create = () => {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    return options.realpath ? fs.realpathSync(made) : made
  }
  const remove = () => fs.rmSync(dir, { recursive: true, force: true })
  let dir = options.perTest ? '' : create()
  if (options.perTest) {
    beforeEach(() => {
      dir = create()
    })
    afterEach(remove)
  } else {
    afterAll(remove)
  }
  const resolve = (name: string) => path.join(dir, name)
  return {
    get dir() {
      return dir
    },
    path: resolve,
    write(name, content) {
      const file = resolve(name)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content)
      return file
    },
    read: (name) => fs.readFileSync(resolve(name), 'utf8'),
    subdir: (sub) => fs.mkdtempSync(resolve(sub)),
  }
}

export interface CliWorkspace extends Workspace {
  /** Filled in before the file's tests run. */
  age: { identity: string; recipient: string }
  env(extra?: Record<string, string>): Record<string, string | undefined>
  /** Write `content` as `name` (in `where`, default `dir`) and encrypt it in place for `age`. */
  encrypted(name: string, content: string, where?: string): Promise<string>
  /** Decrypt `file` (with `extra` flags) to text; stderr must stay empty. */
  decrypted(file: string, ...extra: string[]): Promise<string>
}

export function cliWorkspace(prefix: string): CliWorkspace {
  const workspace = tempWorkspace(prefix)
  const dir = workspace.dir
  const age = { identity: '', recipient: '' }
  beforeAll(async () => {
    Object.assign(age, await testAgeIdentity())
  })
  const env = (extra: Record<string, string> = {}) => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...extra })
  return {
    ...workspace,
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
