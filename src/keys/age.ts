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
import { existsSync, constants as fsConstants, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ExecFileException } from 'node:child_process'
import type { Decrypter } from 'age-encryption'
import { GenericError } from '../core/errors.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'
import { armor, decryptX25519, encryptX25519, parseX25519Identity, parseX25519Recipient, type X25519Identity } from './age-x25519.js'
import { parseAgeFile, readArmor } from './age-format.js'
import { bech32Decode } from './bech32.js'
import { goErrnoText, goOpenError, goQuote } from './go-text.js'

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

/** A recipient from the CLI, env or config: parsed first, as sops does, so a bad one fails before any key is made. */
export function fromSpec(spec: string): KeySource {
  const recipient = spec.trim()
  const problem = recipientProblem(recipient)
  if (problem !== undefined) throw new GenericError(problem, { code: 'BAD_KEY' })
  return ageKeySource(recipient)
}

/** sops's parseRecipient failure text for `recipient`, or undefined when sops accepts it. */
export function recipientProblem(recipient: string): string | undefined {
  const bech32Key = 'failed to parse input as Bech32-encoded age public key'
  if (recipient.startsWith('age1pq1')) {
    const problem = typedKeyProblem(recipient, 'age1pq', HYBRID_PUBLIC_KEY_SIZE, 'invalid MLKEM768-X25519 public key')
    return problem === undefined ? undefined : `${bech32Key}: malformed recipient ${goQuote(recipient)}: ${problem}`
  }
  if (recipient.startsWith('age1') && recipient.split('1').length > 2) {
    const problem = pluginRecipientProblem(recipient)
    return problem === undefined ? undefined : `failed to parse input as age key from age plugin: ${problem}`
  }
  if (recipient.startsWith('age1')) {
    const problem = typedKeyProblem(recipient, 'age', 32, 'invalid X25519 public key')
    return problem === undefined ? undefined : `${bech32Key}: malformed recipient ${goQuote(recipient)}: ${problem}`
  }
  if (recipient.startsWith('ssh-')) return undefined // tsops cannot encrypt to it: wrap says so
  return `failed to parse input, unknown recipient type: ${goQuote(recipient)}`
}

/** A Bech32 key of type `hrp` holding `size` bytes: age's reason when it is not. */
function typedKeyProblem(text: string, hrp: string, size: number, badSize: string): string | undefined {
  const decoded = bech32Decode(text)
  if (!decoded.ok) return decoded.error
  if (decoded.hrp !== hrp) return `invalid type ${goQuote(decoded.hrp)}`
  return decoded.data.length === size ? undefined : badSize
}

function pluginRecipientProblem(recipient: string): string | undefined {
  const decoded = bech32Decode(recipient)
  if (!decoded.ok) return `invalid recipient encoding: ${decoded.error}`
  if (!decoded.hrp.startsWith('age1')) return 'not a plugin recipient: <nil>'
  const name = decoded.hrp.slice('age1'.length)
  return /^[A-Za-z0-9+\-._]+$/.test(name) ? undefined : `invalid plugin name: ${goQuote(name)}`
}

/** MLKEM768-X25519: 1184-byte ML-KEM key and a 32-byte X25519 key. */
const HYBRID_PUBLIC_KEY_SIZE = 1216

async function wrap(recipient: string, part: Uint8Array): Promise<KeyEntry> {
  // X25519 recipients (nearly all) are wrapped with node:crypto; typage handles the rest.
  const x25519 = parseX25519Recipient(recipient)
  if (x25519) return { type: 'age', fields: { recipient, enc: armor(encryptX25519(part, [x25519])) } }
  const problem = recipientProblem(recipient)
  if (problem !== undefined) throw new GenericError(problem, { code: 'BAD_KEY' })
  checkRecipientSupported(recipient)
  const age = await loadAge()
  const encrypter = new age.Encrypter()
  try {
    encrypter.addRecipient(recipient)
  } catch {
    throw new GenericError(`failed to parse input as age recipient: ${JSON.stringify(recipient)}`, { code: 'BAD_KEY' })
  }
  // typage's armor is age's: 64-column base64 and a final newline after the END line.
  const enc = age.armor.encode(await encrypter.encrypt(part))
  return { type: 'age', fields: { recipient, enc } }
}

/** Clear errors for recipient kinds typage 0.3.1 cannot encrypt to (sops can, via agessh/plugins). */
function checkRecipientSupported(recipient: string): void {
  if (recipient.startsWith('ssh-')) {
    throw new GenericError(`SSH age recipients (${recipient.split(' ')[0]}) are not supported by tsops yet; use an age1… recipient`, { code: 'UNSUPPORTED_KEY_TYPE' })
  }
  // X25519 recipients are bech32 with HRP "age": the only '1' is the separator after "age".
  // A further '1' means HRP "age1<name>", i.e. a plugin (age1pq1/age1tag1/age1tagpq1 are native).
  const native = /^age1(pq1|tag1|tagpq1)?[^1]*$/
  if (recipient.startsWith('age1') && !native.test(recipient)) {
    throw new GenericError(`age plugin recipients are not supported by tsops: ${JSON.stringify(recipient)}`, { code: 'UNSUPPORTED_KEY_TYPE' })
  }
}

// ---------------------------------------------------------------------------------------------
// Unwrap: sops's MasterKey.Decrypt, with its messages

const READER_FAILED = 'failed to create reader for decrypting sops data key with age'

async function unwrap(recipient: string, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string) => new KeyUnwrapError('age', recipient, redact(reason))
  const enc = entry.fields.enc
  const loaded = await identitiesFor(recipient, ctx)
  if (loaded.identities.length === 0) throw fail(formatAgeError('failed to load age identities', undefined, loaded))
  const readerFailed = (error: string) => fail(formatAgeError(READER_FAILED, error, loaded))
  const stream = readArmor(typeof enc === 'string' ? enc : '')
  const native = nativeIdentities(loaded.identities)
  if (native) {
    const result = decryptX25519(stream, native)
    if (result.status === 'ok') return new Uint8Array(result.plaintext)
    if (result.status === 'no-match') throw readerFailed(noMatchText(native.length))
    if (result.status === 'error') {
      if (result.stage === 'reader') throw readerFailed(result.error)
      throw fail(`failed to copy age decrypted data into bytes.Buffer: ${result.error}`)
    }
  }
  const header = parseAgeFile(stream)
  if (!header.ok) throw readerFailed(header.error)
  return unwrapWithTypage(recipient, stream.data, loaded, ctx, readerFailed)
}

/** age's NoIdentityMatchError: one "incorrect identity" per identity tried. */
function noMatchText(identities: number): string {
  return identities === 1 ? 'identity did not match any of the recipients: incorrect identity for recipient block' : 'no identity matched any of the recipients'
}

/**
 * sops's formatError: the message, age's error, then what went wrong while loading identities
 * and every location that held none (`… in locations 'A', 'B', and 'C'.`).
 */
export function formatAgeError(message: string, error: string | undefined, loaded: Pick<LoadedIdentities, 'errors' | 'unused'>): string {
  const loadSuffix = loaded.errors.length > 0 ? `. Errors while loading age identities: ${loaded.errors.join('; ')}` : ''
  const u = loaded.unused
  const quoted = u.map((l) => `'${l}'`)
  const places =
    u.length === 0 ? '' : u.length === 1 ? ` ${quoted[0]}` : u.length === 2 ? `s ${quoted[0]} and ${quoted[1]}` : `s ${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}`
  const unusedSuffix = u.length === 0 ? '' : `. Did not find keys in location${places}.`
  return `${message}${error === undefined ? '' : `: ${error}`}${loadSuffix}${unusedSuffix}`
}

/** X25519 identities parsed for node:crypto, or undefined when any identity needs typage. */
function nativeIdentities(identities: readonly ParsedIdentity[]): X25519Identity[] | undefined {
  const parsed = identities.map((i) => parseX25519Identity(i.identity))
  return parsed.every((p): p is X25519Identity => p !== undefined) ? parsed : undefined
}

async function unwrapWithTypage(
  recipient: string,
  file: Uint8Array,
  loaded: LoadedIdentities,
  ctx: KeyContext,
  readerFailed: (error: string) => KeyUnwrapError,
): Promise<Uint8Array> {
  let decrypter: Decrypter
  try {
    decrypter = await decrypterFor(recipient, loaded.identities, ctx)
  } catch (e) {
    throw readerFailed(errorText(e))
  }
  try {
    return await decrypter.decrypt(file)
  } catch (e) {
    throw readerFailed(/no identity matched/.test(errorText(e)) ? noMatchText(loaded.identities.length) : errorText(e))
  }
}

// ---------------------------------------------------------------------------------------------
// Identities: loaded once per KeyContext, as sops's loadIdentities finds them

interface ParsedIdentity {
  identity: string
  /** Where it came from, for messages (never the identity itself). */
  source: string
}

export interface LoadedIdentities {
  identities: ParsedIdentity[]
  /** Locations looked in that held no key, in sops's order (its "Did not find keys in locations"). */
  unused: string[]
  /** What went wrong while loading, in sops's words (its "Errors while loading age identities"). */
  errors: string[]
}

interface AgeCache {
  /** Keyed by recipient when SOPS_AGE_KEY_CMD is set (it sees SOPS_AGE_RECIPIENT), else by ''. */
  identities: Map<string, Promise<LoadedIdentities>>
  /** typage Decrypters, same keys. */
  decrypters: Map<string, Promise<Decrypter>>
}

const caches = new WeakMap<KeyContext, AgeCache>()

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
  return ctx.env[SOPS_AGE_KEY_CMD] !== undefined ? recipient : ''
}

function identitiesFor(recipient: string, ctx: KeyContext): Promise<LoadedIdentities> {
  const cache = cacheOf(ctx)
  const key = cacheKeyFor(recipient, ctx)
  let found = cache.identities.get(key)
  if (!found) {
    found = loadIdentities(recipient, ctx)
    cache.identities.set(key, found)
  }
  return found
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

/** Text to read identities from, and whether a line may hold several (SOPS_AGE_KEY only). */
interface IdentityReader {
  location: string
  text: string
  multiplePerLine: boolean
}

/**
 * sops's loadIdentities: SSH keys, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, then the
 * user config keys.txt (only looked at when nothing else was given). A variable set to the
 * empty string counts as set (os.LookupEnv). Readers are read in this order (sops's map order
 * is random; it only matters when several hold no key).
 */
async function loadIdentities(recipient: string, ctx: KeyContext): Promise<LoadedIdentities> {
  const env = ctx.env
  const identities: ParsedIdentity[] = []
  ;(ctx.ageIdentities ?? []).forEach((text, i) => identities.push(...parseIdentities(text, `explicit identity #${i + 1}`, ctx, true)))
  const { unused, errors } = sshLocations(env, ctx)
  const readers: IdentityReader[] = []
  const inline = env[SOPS_AGE_KEY]
  if (inline !== undefined) readers.push({ location: SOPS_AGE_KEY, text: inline, multiplePerLine: true })
  else unused.push(SOPS_AGE_KEY)
  const keyFile = env[SOPS_AGE_KEY_FILE]
  if (keyFile !== undefined) {
    const read = readIdentityFile(keyFile)
    if ('error' in read) errors.push(`failed to open ${SOPS_AGE_KEY_FILE} file: ${read.error}`)
    else readers.push({ location: SOPS_AGE_KEY_FILE, text: read.text, multiplePerLine: false })
  } else unused.push(SOPS_AGE_KEY_FILE)
  const cmd = env[SOPS_AGE_KEY_CMD]
  if (cmd !== undefined) {
    const out = await keyCommandOutput(cmd, recipient, ctx)
    if ('error' in out) errors.push(out.error)
    else readers.push({ location: SOPS_AGE_KEY_CMD, text: out.text, multiplePerLine: false })
  } else unused.push(SOPS_AGE_KEY_CMD)
  const nothingElse = () => readers.length === 0 && identities.length === 0
  const configDir = userConfigDir(env)
  if ('error' in configDir) {
    if (nothingElse()) errors.push(`user config directory could not be determined: ${configDir.error}`)
  } else {
    const file = path.join(configDir.dir, 'sops', 'age', 'keys.txt')
    const read = readIdentityFile(file)
    if (!('error' in read)) readers.push({ location: file, text: read.text, multiplePerLine: false })
    else if (!read.missing) errors.push(`failed to open file: ${read.error}`)
    else if (nothingElse()) unused.push(file)
  }
  for (const r of readers) {
    try {
      const found = parseIdentities(r.text, r.location, ctx, r.multiplePerLine)
      identities.push(...found)
      if (found.length === 0) unused.push(r.location)
    } catch (e) {
      errors.push(errorText(e))
    }
  }
  return { identities, unused, errors }
}

/**
 * sops also loads SSH keys as age identities. tsops cannot use them yet: a set variable or an
 * existing ~/.ssh key is neither a location without keys nor an identity (an unreadable
 * SOPS_AGE_SSH_PRIVATE_KEY_FILE is still reported as sops reports it).
 */
function sshLocations(env: KeyContext['env'], ctx: KeyContext): { unused: string[]; errors: string[] } {
  const unused: string[] = []
  const errors: string[] = []
  const sshFile = env[SOPS_AGE_SSH_PRIVATE_KEY_FILE]
  if (sshFile !== undefined) {
    const read = readIdentityFile(sshFile)
    if ('error' in read) errors.push(`failed to open file: ${read.error}`)
    else ctx.warn?.(`SSH identities for age (${SOPS_AGE_SSH_PRIVATE_KEY_FILE}) are not supported by tsops yet; ignored`)
  } else unused.push(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
  if (env[SOPS_AGE_SSH_PRIVATE_KEY_CMD] !== undefined) {
    ctx.warn?.(`SSH identities for age (${SOPS_AGE_SSH_PRIVATE_KEY_CMD}) are not supported by tsops yet; ignored`)
  } else unused.push(SOPS_AGE_SSH_PRIVATE_KEY_CMD)
  const home = userHomeDir(env)
  if ('error' in home) errors.push(home.error)
  else {
    for (const name of ['id_ed25519', 'id_rsa']) {
      const file = path.join(home.dir, '.ssh', name)
      if (!existsSync(file)) unused.push(file)
    }
  }
  return { unused, errors }
}

/**
 * A key file's text as sops reads it: os.Open's error in Go's words; a directory opens (and
 * holds no key), as in Go.
 */
function readIdentityFile(file: string): { text: string } | { error: string; missing: boolean } {
  try {
    return { text: readFileSync(file, 'utf8') }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EISDIR') return { text: '' }
    return { error: goOpenError(file, e), missing: code === 'ENOENT' }
  }
}

async function keyCommandOutput(cmd: string, recipient: string, ctx: KeyContext): Promise<{ text: string } | { error: string }> {
  let argv: string[]
  try {
    argv = shlexSplit(cmd)
  } catch (e) {
    return { error: `failed to parse command ${cmd}: ${errorText(e)}` }
  }
  const [file, ...args] = argv
  // (sops panics on an empty command; tsops reports it.)
  if (file === undefined) return { error: `failed to execute command ${cmd}: ${SOPS_AGE_KEY_CMD} holds no command` }
  try {
    return { text: await runKeyCommand(file, args, { ...definedEnv(ctx.env), [SOPS_AGE_RECIPIENT]: recipient }, ctx.signal) }
  } catch (e) {
    return { error: `failed to execute command ${cmd}: ${errorText(e)}` }
  }
}

/** Runs the key command like Go's cmd.Output(); rejects with os/exec's error text. */
async function runKeyCommand(file: string, args: string[], env: Record<string, string>, signal?: AbortSignal): Promise<string> {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env, signal, timeout: KEY_CMD_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8', windowsHide: true },
      (err, stdout) => {
        if (!err) return resolve(stdout)
        reject(new Error(execErrorText(file, err)))
      },
    )
    child.stdin?.end() // the command gets no input (like Go's cmd.Output())
  })
}

/** os/exec's words: `exit status 3`, `signal: killed`, or why the program could not start. */
function execErrorText(file: string, err: ExecFileException): string {
  if (typeof err.code === 'number') return `exit status ${err.code}`
  if (err.signal) return `signal: ${GO_SIGNAL_NAMES[err.signal] ?? err.signal}`
  if (err.code === 'ENOENT' || err.code === 'EACCES') {
    const errno = err as NodeJS.ErrnoException
    return file.includes('/') ? `fork/exec ${file}: ${goErrnoText(errno)}` : `exec: ${goQuote(file)}: executable file not found in $PATH`
  }
  return err.message
}

const GO_SIGNAL_NAMES: Partial<Record<NodeJS.Signals, string>> = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGHUP: 'hangup', SIGSEGV: 'segmentation fault', SIGABRT: 'aborted' }

/**
 * sops's parseIdentities: one identity per line (several, split on white space, for
 * SOPS_AGE_KEY); empty lines and lines starting with `#` skipped, nothing trimmed. An age
 * encrypted key file (passphrase-protected) is not supported by tsops yet.
 */
export function parseIdentities(text: string, location: string, ctx?: Pick<KeyContext, 'warn'>, multiplePerLine = false): ParsedIdentity[] {
  if (text.startsWith('age-encryption') || text.startsWith('-----BEGIN AGE')) {
    throw new Error(`passphrase-protected age identity files are not supported by tsops yet ('${location}')`)
  }
  const out: ParsedIdentity[] = []
  let skippedPlugin = false
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line === '' || line.startsWith('#')) continue
    for (const word of multiplePerLine ? line.split(/\s+/).filter((w) => w !== '') : [line]) {
      if (word.startsWith('AGE-PLUGIN-')) {
        skippedPlugin = true
        continue
      }
      const problem = identityProblem(word)
      if (problem !== undefined) throw new Error(`failed to parse '${location}' age identities: ${problem}`)
      out.push({ identity: word, source: location })
    }
  }
  if (skippedPlugin) ctx?.warn?.(`age plugin identities in ${location} are not supported by tsops; skipped`)
  return out
}

/** sops's parseIdentity failure for one identity, in age's words (undefined: it parses). */
function identityProblem(identity: string): string | undefined {
  const secretKey = (hrp: string, size: number, badSize: string) => {
    const problem = typedKeyProblem(identity, hrp, size, badSize)
    return problem === undefined ? undefined : `malformed secret key: ${problem.replace(/^invalid type /, 'unknown type ')}`
  }
  if (identity.startsWith('AGE-SECRET-KEY-PQ-1')) return secretKey('AGE-SECRET-KEY-PQ-', 32, 'invalid MLKEM768-X25519 secret key')
  if (identity.startsWith('AGE-SECRET-KEY-1')) return secretKey('AGE-SECRET-KEY-', 32, 'invalid X25519 secret key')
  return 'unknown identity type'
}

// ---------------------------------------------------------------------------------------------
// Default key file and keygen

/** `<UserConfigDir>/sops/age/keys.txt`, with sops's macOS XDG_CONFIG_HOME override. */
export function defaultAgeKeyFile(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): string {
  // Where Go finds no config dir, keygen still needs a place: the account's home.
  const found = userConfigDir(env, platform)
  const dir = 'dir' in found ? found : userConfigDir({ HOME: os.homedir() }, platform)
  return path.join('dir' in dir ? dir.dir : os.homedir(), 'sops', 'age', 'keys.txt')
}

type DirOrError = { dir: string } | { error: string }

/** sops's getUserConfigDir: os.UserConfigDir, and XDG_CONFIG_HOME on macOS too; Go's error texts. */
function userConfigDir(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): DirOrError {
  const xdg = env.XDG_CONFIG_HOME
  if (platform === 'win32') {
    const appData = env.AppData ?? env.APPDATA
    return nonEmpty(appData) ? { dir: appData } : { error: '%AppData% is not defined' }
  }
  if (platform === 'darwin') {
    if (nonEmpty(xdg)) return { dir: xdg }
    const home = env.HOME
    return nonEmpty(home) ? { dir: path.join(home, 'Library', 'Application Support') } : { error: '$HOME is not defined' }
  }
  if (nonEmpty(xdg)) return path.isAbsolute(xdg) ? { dir: xdg } : { error: 'path in $XDG_CONFIG_HOME is relative' }
  const home = env.HOME
  return nonEmpty(home) ? { dir: path.join(home, '.config') } : { error: 'neither $XDG_CONFIG_HOME nor $HOME are defined' }
}

/** os.UserHomeDir with Go's error text. */
function userHomeDir(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): DirOrError {
  const home = platform === 'win32' ? env.USERPROFILE : env.HOME
  if (nonEmpty(home)) return { dir: home }
  return { error: platform === 'win32' ? '%userprofile% is not defined' : '$HOME is not defined' }
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
  const existing = readIdentityFile(file)
  if ('text' in existing) return { path: file, recipient: await firstRecipient(existing.text, file), created: false }

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
  if (!first) throw new GenericError(`age key file ${file} exists but contains no age identity`, { code: 'BAD_IDENTITY_FILE' })
  const age = await loadAge()
  try {
    return await age.identityToRecipient(first.identity)
  } catch {
    throw new GenericError(`age key file ${file}: malformed secret key`, { code: 'BAD_IDENTITY_FILE' })
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
      if (end === -1) throw new Error('EOF found when expecting closing quote')
      word = (word ?? '') + input.slice(i + 1, end)
      i = end + 1
    } else if (c === '"') {
      word ??= ''
      i++
      for (;;) {
        if (i >= input.length) throw new Error('EOF found when expecting closing quote')
        const q = input[i]!
        if (q === '"') break
        if (q === '\\' && i + 1 < input.length) i++
        word += input[i]!
        i++
      }
      i++
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new Error('EOF found after escape character')
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

function errorText(e: unknown): string {
  return redact(e instanceof Error ? e.message : String(e))
}
