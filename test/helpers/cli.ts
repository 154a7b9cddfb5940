import { spawn } from 'node:child_process'
import { CLI } from './paths.js'

export interface CliResult {
  code: number
  stdout: Buffer
  stderr: string
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  input?: string | Buffer
  /** Extra executable, e.g. the oracle; default: the built tsops CLI. */
  command?: string[]
  /**
   * Run the CLI with its clock this many ms ahead (./shifted-clock.mjs): the next `lastmodified`
   * differs from one written just before, with no sleep. Only for the default command.
   */
  clockOffsetMs?: number
}

/** `node [--import shifted-clock] CLI`: the default command. */
function cliCommand(clockOffsetMs: number | undefined): string[] {
  if (clockOffsetMs === undefined) return [process.execPath, CLI]
  const clock = new URL('./shifted-clock.mjs', import.meta.url)
  clock.searchParams.set('ms', String(clockOffsetMs))
  return [process.execPath, '--import', clock.href, CLI]
}

/** Environment without the developer's own key settings, so tests see only what they set. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('SOPS_') || k === 'GNUPGHOME' || k === 'XDG_CONFIG_HOME' || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/** Run the built CLI (or another command) as a process: args, stdin → exit code, stdout, stderr. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? cliCommand(options.clockOffsetMs)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...pre, ...args], { env: options.env ?? cleanEnv(), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}
