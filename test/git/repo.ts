/**
 * Real temporary git repositories for the git-integration tests. Each repo has its own HOME
 * (no user or global git config, no age key file), fixed author identity, and runs the built CLI
 * (TSOPS_CLI) from its drivers and hook through `git config tsops.command`.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanEnv, runCli, type CliResult } from '../helpers/cli.js'
import { CLI } from '../helpers/paths.js'

export function shq(s: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}

/** How the drivers and the hook run the CLI under test. */
export const TSOPS_COMMAND = `${shq(process.execPath)} ${shq(CLI)}`

export interface GitResult {
  code: number
  stdout: string
  stderr: string
}

export class TestRepo {
  readonly dir: string
  readonly home: string
  /** Environment with no key at all: what the guard must work with. */
  readonly env: Record<string, string | undefined>

  constructor(extraEnv: Record<string, string | undefined> = {}) {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-git-home-'))
    this.dir = path.join(this.home, 'repo')
    fs.mkdirSync(this.dir)
    const base = cleanEnv()
    for (const k of Object.keys(base)) if (k.startsWith('GIT_')) delete base[k]
    this.env = {
      ...base,
      HOME: this.home,
      XDG_CONFIG_HOME: path.join(this.home, '.config'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Test Author',
      GIT_AUTHOR_EMAIL: 'author@example.invalid',
      GIT_COMMITTER_NAME: 'Test Committer',
      GIT_COMMITTER_EMAIL: 'committer@example.invalid',
      GIT_TERMINAL_PROMPT: '0',
      ...extraEnv,
    }
  }

  static async create(extraEnv: Record<string, string | undefined> = {}): Promise<TestRepo> {
    const repo = new TestRepo(extraEnv)
    await repo.gitOk(['init', '-q', '-b', 'main'])
    return repo
  }

  path(rel: string): string {
    return path.join(this.dir, ...rel.split('/'))
  }

  write(rel: string, content: string | Buffer): string {
    const p = this.path(rel)
    fs.mkdirSync(path.dirname(p), { recursive: true })
    fs.writeFileSync(p, content)
    return p
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8')
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.path(rel))
  }

  git(args: string[], options: { env?: Record<string, string | undefined>; input?: string; cwd?: string } = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = execFile('git', args, { cwd: options.cwd ?? this.dir, env: { ...this.env, ...options.env } as NodeJS.ProcessEnv, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0
        if (err && code === -1) reject(err)
        else resolve({ code, stdout: String(stdout), stderr: String(stderr) })
      })
      if (options.input !== undefined) child.stdin?.end(options.input)
      else child.stdin?.end()
    })
  }

  async gitOk(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; input?: string } = {}): Promise<string> {
    const r = await this.git(args, options)
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
    return r.stdout
  }

  tsops(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; input?: string } = {}): Promise<CliResult> {
    return runCli(args, { env: { ...this.env, ...options.env }, cwd: options.cwd ?? this.dir, input: options.input })
  }

  async install(extra: string[] = [], cwd?: string): Promise<CliResult> {
    const r = await this.tsops(['git', 'install', '--tsops-command', TSOPS_COMMAND, ...extra], { cwd })
    if (r.code !== 0) throw new Error(`tsops git install failed (${r.code}): ${r.stderr}`)
    return r
  }

  cleanup(): void {
    fs.rmSync(this.home, { recursive: true, force: true })
  }
}

/** A `.sops.yaml` with one rule for `secrets/…yaml` files and a catch-all, both to `recipient`. */
export function sopsConfig(recipient: string, pathRegex = '^secrets/.*\\.yaml$'): string {
  return `creation_rules:\n  - path_regex: ${pathRegex}\n    age: ${recipient}\n  - age: ${recipient}\n`
}

export async function expectOk(r: CliResult, what: string): Promise<CliResult> {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`)
  return r
}
