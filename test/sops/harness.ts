/**
 * The differential tier: the same files, command line, stdin and environment through the real
 * sops 3.13.2 binary and through tsops run under the name `sops`, in twin temp dirs, compared on
 * exit code, stdout, stderr and every file written. Random parts of encrypted output (data, iv,
 * tag, enc, mac, timestamps) are masked before comparing; the cross checks (each side decrypts
 * what the other wrote) prove those parts are right.
 *
 * The binaries come from scripts/install-test-tools.sh (run by .ci/run): a missing binary is a
 * failure with the command to run, never a skip.
 */
import { expect } from 'vitest'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { makeSopsBin, type SopsBin } from '../integrations/sops-bin.js'

export const SOPS_VERSION = 'v3.13.2'
export const AGE_VERSION = 'v1.3.1'

export function toolsDir(): string {
  return process.env.TSOPS_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tsops-tools')
}

function tool(dir: string, name: string): string {
  const file = path.join(toolsDir(), dir, name)
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run scripts/install-test-tools.sh (or .ci/run) first`)
  return file
}

export const realSops = (): string => process.env.TSOPS_REAL_SOPS ?? tool(`sops-${SOPS_VERSION}`, 'sops')
export const realAge = (name: 'age' | 'age-keygen' = 'age'): string => tool(`age-${AGE_VERSION}`, name)

export interface RunResult {
  code: number
  stdout: Buffer
  stderr: string
}

export interface RunOptions {
  cwd: string
  env: Record<string, string | undefined>
  input?: string | Buffer
  timeoutMs?: number
}

/**
 * Run a command. Input reaches it through a real pipe (`cat FILE | command`), as from a shell:
 * node's own stdio pipes are socket pairs, which Go cannot open as /dev/stdin.
 */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  if (options.input === undefined) return spawnRun(command, args, options)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-diff-in-'))
  const inputFile = path.join(dir, 'input')
  fs.writeFileSync(inputFile, options.input)
  const { input: _, ...rest } = options
  return spawnRun('/bin/sh', ['-c', 'cat "$0" | "$@"', inputFile, command, ...args], rest).finally(() => fs.rmSync(dir, { recursive: true, force: true }))
}

function spawnRun(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : -1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') })
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

let sopsBin: SopsBin | undefined
/** tsops's bin/sops (the file npm installs as `sops`), beside this run's CLI bundle. */
function tsopsAsSops(): string {
  sopsBin ??= makeSopsBin()
  return path.join(sopsBin.binDir, 'sops')
}

/** An environment with nothing of the developer's: HOME is the run's own, PATH the system's. */
export function baseEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR,
    // No network in tests: sops must not try to reach a real AWS/GCP metadata service.
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_COLOR: '1',
  }
  for (const [k, v] of Object.entries(extra)) env[k] = v
  return env
}

export type Files = Record<string, string | Buffer>

/** One side's outcome: what the process printed and the files its directory holds afterwards. */
export interface Side extends RunResult {
  dir: string
  files: Record<string, Buffer>
}

export interface Twin {
  real: Side
  ours: Side
  root: string
  /** The environment both ran with (`$DIR` not yet substituted). */
  env: Record<string, string | undefined>
  /** Extra variables for one tool only (see TwinOptions.toolEnv). */
  toolEnv?: TwinOptions['toolEnv']
}

export interface TwinOptions {
  files?: Files
  env?: Record<string, string | undefined>
  input?: string | Buffer
  /** A directory of the twin (relative) to run in; default the twin's top. */
  cwd?: string
  /** Runs before the command in each twin dir (e.g. to encrypt a file with that side's tool). */
  prepare?: (dir: string) => Promise<void> | void
  /**
   * Extra variables for one tool only, wherever it runs (cross checks included): for a service
   * the two tools must reach differently (real sops speaks TLS to GCP KMS, tsops plaintext to a
   * loopback emulator).
   */
  toolEnv?: { real?: Record<string, string | undefined>; ours?: Record<string, string | undefined> }
  /**
   * Runs each tool's command line through another one, the same for both (e.g. `setsid -w …` for
   * no controlling terminal, or a pseudo-terminal helper that answers a prompt).
   */
  wrap?: (command: string[]) => string[]
}

const roots: string[] = []
export function cleanupTwins(): void {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true })
  sopsBin?.cleanup()
  sopsBin = undefined
}

/** A fresh root with `home/` and twin dirs `real/` and `ours/` (same length: paths compare after masking). */
export function twinRoot(): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-diff-')))
  fs.mkdirSync(path.join(root, 'home'))
  roots.push(root)
  return root
}

export function writeFiles(dir: string, files: Files): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
  }
}

function readFiles(dir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {}
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name
    if (entry.isDirectory()) Object.assign(out, readFiles(path.join(dir, entry.name), rel + '/'))
    else if (entry.isFile()) out[rel] = fs.readFileSync(path.join(dir, entry.name))
  }
  return out
}

/** Run `sops ARGS` in the real/ twin with real sops and in the ours/ twin with tsops. */
export async function twin(args: readonly string[], options: TwinOptions = {}, root = twinRoot()): Promise<Twin> {
  const env = baseEnv(path.join(root, 'home'), options.env)
  const side = async (name: 'real' | 'ours', command: string[]): Promise<Side> => {
    const dir = path.join(root, name)
    fs.mkdirSync(dir, { recursive: true })
    writeFiles(dir, options.files ?? {})
    await options.prepare?.(dir)
    const cwd = path.join(dir, options.cwd ?? '')
    const sideEnv = substituteDir({ ...env, ...options.toolEnv?.[name] }, dir)
    const full = [...command, ...args.map((a) => a.replaceAll('$DIR', dir))]
    const [bin, ...rest] = options.wrap ? options.wrap(full) : full
    const result = await run(bin!, rest, { cwd, env: sideEnv, ...(options.input === undefined ? {} : { input: options.input }) })
    return { ...result, dir, files: readFiles(dir) }
  }
  const real = await side('real', [realSops()])
  const ours = await side('ours', [process.execPath, tsopsAsSops()])
  return { real, ours, root, env, ...(options.toolEnv ? { toolEnv: options.toolEnv } : {}) }
}

/** `$DIR` in an environment value names the side's own directory. */
function substituteDir(env: Record<string, string | undefined>, dir: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(env)) out[k] = v?.replaceAll('$DIR', dir)
  return out
}

const BASE64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/g
const TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g

/**
 * Encrypted text with its random parts replaced by their lengths: ciphertext, iv, tag, wrapped
 * keys (age armour, PGP), the MAC and timestamps. Layout, key order, quoting and every metadata
 * field stay.
 */
export function maskRandom(text: string): string {
  return text
    .replace(/data:([A-Za-z0-9+/=]*),iv:[A-Za-z0-9+/=]*,tag:[A-Za-z0-9+/=]*/g, (_, d: string) => `data:<${d.length}>,iv:<iv>,tag:<tag>`)
    .replace(BASE64_RUN, (m) => `<b64:${m.length}>`)
    .replace(TIMESTAMP, '<time>')
}

/** Paths of the twin dirs and the shared root read the same on both sides. */
export function maskPaths(text: string, side: Side, root: string): string {
  return text.replaceAll(side.dir, '$DIR').replaceAll(root, '$ROOT')
}

/** logrus's `time="…"` in sops's log lines, and the date and time of Go's standard `log` lines. */
function maskLogTime(text: string): string {
  return text.replace(/time="[^"]*"/g, 'time="<time>"').replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /gm, '<date> <time> ')
}

export interface CompareOptions {
  /** stdout holds encrypted output: compare it masked (default: byte for byte). */
  encryptedStdout?: boolean
  /** Written files hold encrypted output: compare them masked. Default: byte for byte. */
  encryptedFiles?: boolean
  /** Compare stderr (default true): under the name sops, tsops's stderr is sops's. */
  stderr?: boolean
  /** Compare stdout (default true). */
  stdout?: boolean
  /** Compare the files in the twin dirs (default true); false where a test asserts a documented difference in them itself. */
  files?: boolean
}

/** Every difference between the twins, as a list of readable lines (empty when they agree). */
export function differences(t: Twin, options: CompareOptions = {}): string[] {
  const diffs: string[] = []
  const { real, ours } = t
  if (real.code !== ours.code) diffs.push(`exit code: sops ${real.code}, tsops ${ours.code}`)
  const text = (s: Side, b: Buffer, masked: boolean) => {
    const raw = maskPaths(b.toString('latin1'), s, t.root)
    return masked ? maskRandom(raw) : raw
  }
  const so = text(real, real.stdout, options.encryptedStdout ?? false)
  const oo = text(ours, ours.stdout, options.encryptedStdout ?? false)
  if ((options.stdout ?? true) && so !== oo) diffs.push(`stdout:\n--- sops\n${so}\n--- tsops\n${oo}`)
  if (options.stderr ?? true) {
    const se = maskLogTime(maskPaths(real.stderr, real, t.root))
    const oe = maskLogTime(maskPaths(ours.stderr, ours, t.root))
    if (se !== oe) diffs.push(`stderr:\n--- sops\n${se}\n--- tsops\n${oe}`)
  }
  const names = new Set(options.files === false ? [] : [...Object.keys(real.files), ...Object.keys(ours.files)])
  for (const name of [...names].sort()) {
    const a = real.files[name]
    const b = ours.files[name]
    if (a === undefined || b === undefined) {
      diffs.push(`file ${name}: only ${a === undefined ? 'tsops' : 'sops'} has it`)
      continue
    }
    const ma = text(real, a, options.encryptedFiles ?? false)
    const mb = text(ours, b, options.encryptedFiles ?? false)
    if (ma !== mb) diffs.push(`file ${name}:\n--- sops\n${ma}\n--- tsops\n${mb}`)
  }
  return diffs
}

/** Assert the twins agree, recording the comparison for the tier's closing count. */
export function expectSame(t: Twin, options: CompareOptions = {}, label = ''): void {
  const diffs = differences(t, options)
  record(diffs.length === 0, label, diffs.join('\n\n'))
  expect(diffs.join('\n\n'), label).toBe('')
}

/**
 * A deliberate difference (docs/migrating-from-sops.md): the exit codes agree, and each side's
 * stderr is what `expected` says — sops's own text and tsops's. Recorded apart from the cases
 * that must match, so the tier's count says how many differences are documented.
 */
export function expectDocumentedDifference(t: Twin, expected: { sopsStderr: RegExp; tsopsStderr: RegExp; files?: boolean }, label: string): void {
  const se = maskPaths(t.real.stderr, t.real, t.root)
  const oe = maskPaths(t.ours.stderr, t.ours, t.root)
  const ok = t.real.code === t.ours.code && expected.sopsStderr.test(se) && expected.tsopsStderr.test(oe)
  recordLine(ok ? 'documented' : 'mismatch', label, ok ? '' : `sops: ${t.real.code} ${se}\ntsops: ${t.ours.code} ${oe}`)
  expect({ code: t.ours.code, stderr: oe }, label).toEqual({ code: t.real.code, stderr: expect.stringMatching(expected.tsopsStderr) })
  expect(se, `${label}: sops's own message`).toMatch(expected.sopsStderr)
  if (expected.files ?? true) expect(Object.keys(t.ours.files).sort(), `${label}: files`).toEqual(Object.keys(t.real.files).sort())
}

/** Count a deliberate difference that a test asserted in its own terms (e.g. different exit codes). */
export function recordDocumented(label: string): void {
  recordLine('documented', label, '')
}

/** Assert two outputs agree (e.g. each side decrypting the other's file), recorded like a twin. */
export function expectEqualOutputs(a: RunResult, b: RunResult, label: string): void {
  const same = a.code === b.code && a.stdout.equals(b.stdout) && a.stderr === b.stderr
  record(same, label, same ? '' : `sops: ${a.code} ${a.stderr}\n${a.stdout.toString('latin1')}\ntsops: ${b.code} ${b.stderr}\n${b.stdout.toString('latin1')}`)
  expect({ code: b.code, stdout: b.stdout.toString('latin1'), stderr: b.stderr }, label).toEqual({ code: a.code, stdout: a.stdout.toString('latin1'), stderr: a.stderr })
}

/**
 * One line per comparison in $TSOPS_DIFF_LOG (set by the tier's global setup), for its count;
 * with TSOPS_DIFF_DETAILS=FILE, every mismatch's differences go to FILE too, to read them all at once.
 */
function record(ok: boolean, label: string, details: string): void {
  recordLine(ok ? 'ok' : 'mismatch', label, details)
}

function recordLine(kind: 'ok' | 'mismatch' | 'documented', label: string, details: string): void {
  const log = process.env.TSOPS_DIFF_LOG
  if (log) fs.appendFileSync(log, `${kind}\t${label.replace(/\s+/g, ' ')}\n`)
  const keep = process.env.TSOPS_DIFF_DETAILS
  if (keep && kind === 'mismatch') fs.appendFileSync(keep, `#### ${label}\n${details}\n\n`)
  // In CI every mismatch's differences reach the log, also one that a retry then passes.
  if (process.env.CI && kind === 'mismatch') process.stderr.write(`differential mismatch: ${label}\n${details}\n\n`)
}

/** Run one side's tool (real sops or tsops-as-sops) on its own: for cross checks. */
export function runSide(which: 'real' | 'ours', args: readonly string[], options: RunOptions): Promise<RunResult> {
  return which === 'real' ? run(realSops(), args, options) : run(process.execPath, [tsopsAsSops(), ...args], options)
}

/**
 * Each side decrypts the encrypted file the *other* side wrote: real sops reads tsops's output
 * (MAC checked) and tsops reads real sops's, and both give what real sops gives for its own file
 * (which must be `expected` when given).
 */
export async function crossDecrypt(t: Twin, file: string, decryptArgs: readonly string[] = [], expected?: Buffer): Promise<void> {
  const envFor = (s: Side, tool: 'real' | 'ours') => substituteDir({ ...t.env, ...t.toolEnv?.[tool] }, s.dir)
  const ours = path.join(t.ours.dir, file)
  const real = path.join(t.real.dir, file)
  const sopsReadsSops = await runSide('real', ['decrypt', ...decryptArgs, real], { cwd: t.real.dir, env: envFor(t.real, 'real') })
  const sopsReadsOurs = await runSide('real', ['decrypt', ...decryptArgs, ours], { cwd: t.ours.dir, env: envFor(t.ours, 'real') })
  const oursReadsSops = await runSide('ours', ['decrypt', ...decryptArgs, real], { cwd: t.real.dir, env: envFor(t.real, 'ours') })
  const label = `cross-decrypt ${file} ${decryptArgs.join(' ')}`
  // Where sops cannot decrypt its own file (e.g. +Inf to JSON), tsops must fail the same way.
  if (expected !== undefined) expect(sopsReadsSops.stdout.toString('latin1'), `${label}: sops reads its own file`).toBe(expected.toString('latin1'))
  expectEqualOutputs(sopsReadsSops, sopsReadsOurs, `${label}: sops decrypts tsops's file`)
  expectEqualOutputs(sopsReadsSops, oursReadsSops, `${label}: tsops decrypts sops's file`)
}

export interface AgeKey {
  /** The identity file real age-keygen wrote. */
  file: string
  identity: string
  recipient: string
}

/** A throw-away age identity made by the real age-keygen, in a directory of its own. */
export async function realAgeKey(dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-diff-age-')))): Promise<AgeKey> {
  if (!roots.includes(dir)) roots.push(dir)
  const file = path.join(dir, `key-${roots.length}.txt`)
  const r = await run(realAge('age-keygen'), ['-o', file], { cwd: dir, env: baseEnv(dir) })
  if (r.code !== 0) throw new Error(`age-keygen failed: ${r.stderr}`)
  const text = fs.readFileSync(file, 'utf8')
  const recipient = /public key: (age1[0-9a-z]+)/.exec(text)?.[1]
  const identity = /^(AGE-SECRET-KEY-1[0-9A-Z]+)$/m.exec(text)?.[1]
  if (!recipient || !identity) throw new Error(`age-keygen wrote no key to ${file}`)
  return { file, identity, recipient }
}
