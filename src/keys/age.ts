/**
 * age key source (spec §6.1): `enc` is an ASCII-armored age file, encrypted to one recipient,
 * whose payload is the raw data key (32 bytes) or Shamir share (33 bytes).
 *
 * `age-encryption` (typage) is imported lazily so commands that never touch age don't load it.
 * Identities are loaded once per KeyContext (WeakMap below): a bulk decrypt of many files reads
 * the key files and runs SOPS_AGE_KEY_CMD once, not once per file.
 */
// node:child_process and node:fs/promises are loaded where used: at start-up they (and the
// streams, net and readline modules they pull in) cost a cold decrypt more than the decryption.
import { constants as fsConstants, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Decrypter } from 'age-encryption'
import { GenericError } from '../core/errors.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'
import { armor, dearmor, decryptX25519, encryptX25519, parseX25519Identity, parseX25519Recipient, type X25519Identity } from './age-x25519.js'

type AgeModule = typeof import('age-encryption')

let ageModule: Promise<AgeModule> | undefined
function loadAge(): Promise<AgeModule> {
  ageModule ??= import('age-encryption')
  return ageModule
}

export const SOPS_AGE_KEY = 'SOPS_AGE_KEY'
export const SOPS_AGE_KEY_FILE = 'SOPS_AGE_KEY_FILE'
export const SOPS_AGE_KEY_CMD = 'SOPS_AGE_KEY_CMD'
export const SOPS_AGE_RECIPIENT = 'SOPS_AGE_RECIPIENT'
export const SOPS_AGE_SSH_PRIVATE_KEY_FILE = 'SOPS_AGE_SSH_PRIVATE_KEY_FILE'
export const SOPS_AGE_SSH_PRIVATE_KEY_CMD = 'SOPS_AGE_SSH_PRIVATE_KEY_CMD'

/** A key command may wait on a password manager; still, never hang forever. */
const KEY_CMD_TIMEOUT_MS = 120_000

// ---------------------------------------------------------------------------------------------
// The key source

export function ageKeySource(recipient: string): KeySource {
  const id = recipient.trim()
  return {
    type: 'age',
    id,
    wrap: (part) => wrap(id, part),
    unwrap: (entry, ctx) => unwrap(id, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const r = entry.fields.recipient
  return ageKeySource(typeof r === 'string' ? r : '')
}

export function fromSpec(spec: string): KeySource {
  return ageKeySource(spec)
}

async function wrap(recipient: string, part: Uint8Array): Promise<KeyEntry> {
  // X25519 recipients (nearly all) are wrapped with node:crypto; typage handles the rest.
  const x25519 = parseX25519Recipient(recipient)
  if (x25519) return { type: 'age', fields: { recipient, enc: armor(encryptX25519(part, [x25519])) } }
  checkRecipientSupported(recipient)
  const age = await loadAge()
  const encrypter = new age.Encrypter()
  try {
    encrypter.addRecipient(recipient)
  } catch {
    throw new GenericError(`failed to parse input as age recipient: ${JSON.stringify(recipient)}`)
  }
  // typage's armor is age's: 64-column base64 and a final newline after the END line.
  const enc = age.armor.encode(await encrypter.encrypt(part))
  return { type: 'age', fields: { recipient, enc } }
}

/** Clear errors for recipient kinds typage 0.3.1 cannot encrypt to (sops can, via agessh/plugins). */
function checkRecipientSupported(recipient: string): void {
  if (recipient.startsWith('ssh-')) {
    throw new GenericError(`SSH age recipients (${recipient.split(' ')[0]}) are not supported by tsops yet; use an age1… recipient`)
  }
  // X25519 recipients are bech32 with HRP "age": the only '1' is the separator after "age".
  // A further '1' means HRP "age1<name>", i.e. a plugin (age1pq1/age1tag1/age1tagpq1 are native).
  const native = /^age1(pq1|tag1|tagpq1)?[^1]*$/
  if (recipient.startsWith('age1') && !native.test(recipient)) {
    throw new GenericError(`age plugin recipients are not supported by tsops: ${JSON.stringify(recipient)}`)
  }
}

async function unwrap(recipient: string, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string) => new KeyUnwrapError('age', recipient, reason)
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  let identities: ParsedIdentity[]
  try {
    identities = await identitiesFor(recipient, ctx)
  } catch (e) {
    // The cached failure is shared by every recipient of this context: attach our id here.
    throw fail(errorText(e))
  }
  const native = nativeIdentities(identities)
  if (native) {
    let file: Buffer
    try {
      file = dearmor(enc)
    } catch (e) {
      throw fail(`failed to read armored age data key: ${errorText(e)}`)
    }
    const result = (() => {
      try {
        return decryptX25519(file, native)
      } catch (e) {
        throw fail(`failed to decrypt sops data key with age: ${errorText(e)}`)
      }
    })()
    if (result.status === 'ok') return new Uint8Array(result.plaintext)
    if (result.status === 'no-match') throw fail('no identity matched any of the recipients')
  }
  return unwrapWithTypage(recipient, enc, identities, ctx, fail)
}

/** X25519 identities parsed for node:crypto, or undefined when any identity needs typage. */
function nativeIdentities(identities: readonly ParsedIdentity[]): X25519Identity[] | undefined {
  const parsed = identities.map((i) => parseX25519Identity(i.identity))
  return parsed.every((p): p is X25519Identity => p !== undefined) ? parsed : undefined
}

async function unwrapWithTypage(
  recipient: string,
  enc: string,
  identities: readonly ParsedIdentity[],
  ctx: KeyContext,
  fail: (reason: string) => KeyUnwrapError,
): Promise<Uint8Array> {
  const age = await loadAge()
  let file: Uint8Array
  try {
    file = age.armor.decode(enc)
  } catch (e) {
    throw fail(`failed to read armored age data key: ${errorText(e)}`)
  }
  let decrypter: Decrypter
  try {
    decrypter = await decrypterFor(recipient, identities, ctx)
  } catch (e) {
    throw fail(errorText(e))
  }
  try {
    return await decrypter.decrypt(file)
  } catch (e) {
    if (/no identity matched/.test(errorText(e))) throw fail('no identity matched any of the recipients')
    throw fail(`failed to decrypt sops data key with age: ${errorText(e)}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Identities: loaded once per KeyContext

interface AgeCache {
  /** Identities from every source except SOPS_AGE_KEY_CMD. */
  base?: Promise<ParsedIdentity[]>
  /** All identities keyed by recipient: SOPS_AGE_KEY_CMD sees SOPS_AGE_RECIPIENT, so its output may differ. */
  identities: Map<string, Promise<ParsedIdentity[]>>
  /** typage Decrypters, same keys. */
  decrypters: Map<string, Promise<Decrypter>>
}

const caches = new WeakMap<KeyContext, AgeCache>()

interface ParsedIdentity {
  identity: string
  /** Where it came from, for messages (never the identity itself). */
  source: string
}

function cacheOf(ctx: KeyContext): AgeCache {
  let cache = caches.get(ctx)
  if (!cache) {
    cache = { identities: new Map(), decrypters: new Map() }
    caches.set(ctx, cache)
  }
  return cache
}

/** Without a key command the identity set is the same for every recipient: share it. */
function cacheKeyFor(recipient: string, ctx: KeyContext): string {
  return nonEmpty(ctx.env[SOPS_AGE_KEY_CMD]) ? recipient : ''
}

/** Every identity available for `recipient`; rejects with a plain Error whose message is the reason. */
function identitiesFor(recipient: string, ctx: KeyContext): Promise<ParsedIdentity[]> {
  const cache = cacheOf(ctx)
  const key = cacheKeyFor(recipient, ctx)
  let found = cache.identities.get(key)
  if (!found) {
    found = loadAllIdentities(recipient, ctx, cache)
    cache.identities.set(key, found)
  }
  return found
}

async function loadAllIdentities(recipient: string, ctx: KeyContext, cache: AgeCache): Promise<ParsedIdentity[]> {
  cache.base ??= loadBaseIdentities(ctx)
  const identities = [...(await cache.base), ...(await loadCmdIdentities(recipient, ctx))]
  if (identities.length === 0) {
    throw new Error(
      `failed to load age identities. Did not find keys in locations '${SOPS_AGE_KEY}', '${SOPS_AGE_KEY_FILE}', ` +
        `'${SOPS_AGE_KEY_CMD}' and '${ageKeyFileOf(ctx) ?? 'the default key file (no HOME in env)'}'`,
    )
  }
  return identities
}

function decrypterFor(recipient: string, identities: readonly ParsedIdentity[], ctx: KeyContext): Promise<Decrypter> {
  const cache = cacheOf(ctx)
  const key = cacheKeyFor(recipient, ctx)
  let d = cache.decrypters.get(key)
  if (!d) {
    d = buildDecrypter(identities)
    cache.decrypters.set(key, d)
  }
  return d
}

/** Rejects with a plain Error whose message is the reason (no key id: the result may be shared). */
async function buildDecrypter(identities: readonly ParsedIdentity[]): Promise<Decrypter> {
  const age = await loadAge()
  const decrypter = new age.Decrypter()
  for (const { identity, source } of identities) {
    try {
      decrypter.addIdentity(identity)
    } catch {
      throw new Error(`failed to parse age identity from ${source}: malformed secret key`)
    }
  }
  return decrypter
}

/** ctx.ageIdentities, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and the default keys.txt (all that exist). */
async function loadBaseIdentities(ctx: KeyContext): Promise<ParsedIdentity[]> {
  const env = ctx.env
  const out: ParsedIdentity[] = []
  ;(ctx.ageIdentities ?? []).forEach((text, i) => out.push(...parseIdentities(text, `explicit identity #${i + 1}`, ctx)))
  if (nonEmpty(env[SOPS_AGE_SSH_PRIVATE_KEY_FILE]) || nonEmpty(env[SOPS_AGE_SSH_PRIVATE_KEY_CMD])) {
    ctx.warn?.('SSH identities for age (SOPS_AGE_SSH_PRIVATE_KEY_FILE/_CMD) are not supported by tsops yet; ignored')
  }
  const inline = env[SOPS_AGE_KEY]
  if (nonEmpty(inline)) out.push(...parseIdentities(inline, SOPS_AGE_KEY, ctx))
  const keyFile = env[SOPS_AGE_KEY_FILE]
  if (nonEmpty(keyFile)) {
    const text = await readKeyFile(keyFile, true)
    out.push(...parseIdentities(text ?? '', `${SOPS_AGE_KEY_FILE} (${keyFile})`, ctx))
  }
  const defaultFile = ageKeyFileOf(ctx)
  const defaultText = defaultFile === undefined ? undefined : await readKeyFile(defaultFile, false)
  if (defaultText !== undefined) out.push(...parseIdentities(defaultText, defaultFile!, ctx))
  return out
}

async function readKeyFile(file: string, required: boolean): Promise<string | undefined> {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`failed to open age key file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

async function loadCmdIdentities(recipient: string, ctx: KeyContext): Promise<ParsedIdentity[]> {
  const cmd = ctx.env[SOPS_AGE_KEY_CMD]
  if (!nonEmpty(cmd)) return []
  const argv = shlexSplit(cmd)
  const [file, ...args] = argv
  if (file === undefined) throw new Error(`${SOPS_AGE_KEY_CMD} is empty after parsing`)
  const stdout = await runKeyCommand(file, args, { ...definedEnv(ctx.env), [SOPS_AGE_RECIPIENT]: recipient }, ctx.signal)
  return parseIdentities(stdout, SOPS_AGE_KEY_CMD, ctx)
}

async function runKeyCommand(file: string, args: string[], env: Record<string, string>, signal?: AbortSignal): Promise<string> {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env, signal, timeout: KEY_CMD_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout)
        const status = typeof err.code === 'number' ? `exit status ${err.code}` : (err.code ?? err.name)
        const detail = firstLine(redact(stderr))
        reject(new Error(`failed to execute ${SOPS_AGE_KEY_CMD}: ${status}${detail ? `: ${detail}` : ''}`))
      },
    )
    child.stdin?.end() // the command gets no input (like Go's cmd.Output())
  })
}

/**
 * Key-file syntax: one identity per line (several whitespace-separated ones are accepted, as
 * SOPS_AGE_KEY allows), blank lines and `#` comments ignored.
 */
export function parseIdentities(text: string, source: string, ctx?: Pick<KeyContext, 'warn'>): ParsedIdentity[] {
  const trimmed = text.trimStart()
  if (trimmed.startsWith('age-encryption.org/') || trimmed.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')) {
    throw new Error(`passphrase-protected age identity files are not supported by tsops yet (${source})`)
  }
  const out: ParsedIdentity[] = []
  let skippedPlugin = false
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim()
    if (l === '' || l.startsWith('#')) return
    for (const token of l.split(/\s+/)) {
      if (token.startsWith('AGE-PLUGIN-')) {
        skippedPlugin = true
      } else if (token.startsWith('AGE-SECRET-KEY-1') || token.startsWith('AGE-SECRET-KEY-PQ-1')) {
        out.push({ identity: token, source })
      } else {
        throw new Error(`failed to parse age identities from ${source}: malformed secret key at line ${i + 1}`)
      }
    }
  })
  if (skippedPlugin) ctx?.warn?.(`age plugin identities in ${source} are not supported by tsops; skipped`)
  return out
}

// ---------------------------------------------------------------------------------------------
// Default key file and keygen

/** `<UserConfigDir>/sops/age/keys.txt`, with sops's macOS XDG_CONFIG_HOME override. */
export function defaultAgeKeyFile(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): string {
  return ageKeyFileIn(env, platform, os.homedir())!
}

/** The default key file of a key context; none when it would need a home directory `env` does not give (envOnly). */
function ageKeyFileOf(ctx: KeyContext): string | undefined {
  return ageKeyFileIn(ctx.env, process.platform, ctx.envOnly ? undefined : os.homedir())
}

function ageKeyFileIn(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, osHome: string | undefined): string | undefined {
  const dir = userConfigDir(env, platform, nonEmpty(env.HOME) ? env.HOME : osHome)
  return dir === undefined ? undefined : path.join(dir, 'sops', 'age', 'keys.txt')
}

function userConfigDir(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, home: string | undefined): string | undefined {
  if (platform === 'win32') {
    const appData = env.AppData ?? env.APPDATA
    if (nonEmpty(appData)) return appData
    return home === undefined ? undefined : path.join(home, 'AppData', 'Roaming')
  }
  const xdg = env.XDG_CONFIG_HOME
  if (nonEmpty(xdg)) return xdg
  if (home === undefined) return undefined
  return platform === 'darwin' ? path.join(home, 'Library', 'Application Support') : path.join(home, '.config')
}

export async function generateAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  const age = await loadAge()
  const identity = await age.generateX25519Identity()
  return { identity, recipient: await age.identityToRecipient(identity) }
}

/**
 * Create the default key file like `age-keygen -o` (0600; parent dirs 0700). An existing file is
 * never overwritten: its first identity's recipient is returned with created: false.
 */
export async function keygen(
  env: Readonly<Record<string, string | undefined>>,
  now: Date = new Date(),
): Promise<{ path: string; recipient: string; created: boolean }> {
  const file = defaultAgeKeyFile(env)
  const existing = await readKeyFile(file, false)
  if (existing !== undefined) return { path: file, recipient: await firstRecipient(existing, file), created: false }

  const { identity, recipient } = await generateAgeIdentity()
  const text = `# created: ${rfc3339Local(now)}\n# public key: ${recipient}\n${identity}\n`
  const { chmod, mkdir, readFile, writeFile } = await import('node:fs/promises')
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  try {
    // 'wx' = O_CREAT|O_EXCL: a file created concurrently is never clobbered.
    await writeFile(file, text, { mode: 0o600, flag: fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    return { path: file, recipient: await firstRecipient(await readFile(file, 'utf8'), file), created: false }
  }
  await chmod(file, 0o600) // in case a umask or odd filesystem widened it
  return { path: file, recipient, created: true }
}

async function firstRecipient(text: string, file: string): Promise<string> {
  const first = parseIdentities(text, file)[0]
  if (!first) throw new GenericError(`age key file ${file} exists but contains no age identity`)
  const age = await loadAge()
  try {
    return await age.identityToRecipient(first.identity)
  } catch {
    throw new GenericError(`age key file ${file}: malformed secret key`)
  }
}

/** Go's time.RFC3339 in local time, as age-keygen writes it (`Z` when the offset is zero). */
function rfc3339Local(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  const base = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  const offset = -d.getTimezoneOffset()
  if (offset === 0) return `${base}Z`
  const abs = Math.abs(offset)
  return `${base}${offset < 0 ? '-' : '+'}${p(Math.floor(abs / 60))}:${p(abs % 60)}`
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/**
 * POSIX-shell-like word splitting (google/shlex as sops uses it): whitespace separates words,
 * '…' is literal, "…" and bare text honour backslash escapes, `#` at a word start begins a comment.
 * No expansion of any kind: the command is executed directly, never through a shell.
 */
export function shlexSplit(input: string): string[] {
  const words: string[] = []
  let word: string | undefined
  let i = 0
  const take = () => {
    if (word !== undefined) words.push(word)
    word = undefined
  }
  while (i < input.length) {
    const c = input[i]!
    if (/\s/.test(c)) {
      take()
      i++
    } else if (c === '#' && word === undefined) {
      while (i < input.length && input[i] !== '\n') i++
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1)
      if (end === -1) throw new Error('unclosed single quote in command')
      word = (word ?? '') + input.slice(i + 1, end)
      i = end + 1
    } else if (c === '"') {
      word ??= ''
      i++
      for (;;) {
        if (i >= input.length) throw new Error('unclosed double quote in command')
        const q = input[i]!
        if (q === '"') break
        if (q === '\\' && i + 1 < input.length) i++
        word += input[i]!
        i++
      }
      i++
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new Error('trailing backslash in command')
      word = (word ?? '') + input[i + 1]!
      i += 2
    } else {
      word = (word ?? '') + c
      i++
    }
  }
  take()
  return words
}

function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v !== ''
}

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

/** Strip anything that looks like an age identity before text can reach a message. */
function redact(text: string): string {
  return text.replace(/AGE-(SECRET-KEY|PLUGIN)-[A-Z0-9-]+/gi, '[redacted age identity]')
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? ''
  return line.trim().slice(0, 200)
}

function errorText(e: unknown): string {
  return redact(e instanceof Error ? e.message : String(e))
}
