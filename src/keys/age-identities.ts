/**
 * Where age identities come from, as sops's loadIdentities finds them (SSH key locations,
 * SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, the user config keys.txt), parsed as its
 * parseIdentities parses them, and cached once per KeyContext with their typage Decrypter.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Decrypter } from 'age-encryption'
import type { KeyContext } from './types.js'
import {
  SOPS_AGE_KEY,
  SOPS_AGE_KEY_CMD,
  SOPS_AGE_KEY_FILE,
  SOPS_AGE_SSH_PRIVATE_KEY_CMD,
  SOPS_AGE_SSH_PRIVATE_KEY_FILE,
  errorText,
  loadAge,
  nonEmpty,
  typedKeyProblem,
} from './age-common.js'
import { keyCommandOutput } from './age-command.js'
import { goOpenError, goQuote } from './go-text.js'
import { readArmor } from './age-format.js'
import { encryptedSshIdentity, parseSshPrivateKey, parseSshRecipient, sshIdentity, type AgeIdentity } from './age-ssh.js'
import { encryptedIdentity } from './age-encrypted.js'
import { pluginIdentity, pluginIdentityName } from './age-plugin.js'
import { readSecret } from './age-terminal.js'

// ---------------------------------------------------------------------------------------------
// Identities: loaded once per KeyContext, as sops's loadIdentities finds them

export interface ParsedIdentity {
  /** A native identity string (X25519, post-quantum), or an identity object (SSH, plugin, encrypted file). */
  identity: string | AgeIdentity
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
  return ctx.env[SOPS_AGE_KEY_CMD] !== undefined || ctx.env[SOPS_AGE_SSH_PRIVATE_KEY_CMD] !== undefined ? recipient : ''
}

export function identitiesFor(recipient: string, ctx: KeyContext): Promise<LoadedIdentities> {
  const cache = cacheOf(ctx)
  const key = cacheKeyFor(recipient, ctx)
  let found = cache.identities.get(key)
  if (!found) {
    found = loadIdentities(recipient, ctx)
    cache.identities.set(key, found)
  }
  return found
}

export function decrypterFor(recipient: string, identities: readonly ParsedIdentity[], ctx: KeyContext): Promise<Decrypter> {
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
  // age tries native identities first, then the others (SSH, plugins, encrypted files) in order.
  const ordered = [...identities.filter((i) => typeof i.identity === 'string'), ...identities.filter((i) => typeof i.identity !== 'string')]
  for (const { identity, source } of ordered) {
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
  bytes: Buffer
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
  const { identities: ssh, unused, errors } = await loadSshIdentities(recipient, ctx)
  identities.push(...ssh)
  const readers: IdentityReader[] = []
  const inline = env[SOPS_AGE_KEY]
  if (inline !== undefined) readers.push({ location: SOPS_AGE_KEY, bytes: Buffer.from(inline, 'utf8'), multiplePerLine: true })
  else unused.push(SOPS_AGE_KEY)
  const keyFile = env[SOPS_AGE_KEY_FILE]
  if (keyFile !== undefined) {
    const read = readIdentityFile(keyFile)
    if ('error' in read) errors.push(`failed to open ${SOPS_AGE_KEY_FILE} file: ${read.error}`)
    else readers.push({ location: SOPS_AGE_KEY_FILE, bytes: read.bytes, multiplePerLine: false })
  } else unused.push(SOPS_AGE_KEY_FILE)
  const cmd = env[SOPS_AGE_KEY_CMD]
  if (cmd !== undefined) {
    const out = await keyCommandOutput(cmd, recipient, ctx)
    if ('error' in out) errors.push(out.error)
    else readers.push({ location: SOPS_AGE_KEY_CMD, bytes: out.bytes, multiplePerLine: false })
  } else unused.push(SOPS_AGE_KEY_CMD)
  const nothingElse = () => readers.length === 0 && identities.length === 0
  const configDir = userConfigDir(env)
  if ('error' in configDir) {
    if (nothingElse()) errors.push(`user config directory could not be determined: ${configDir.error}`)
  } else {
    const file = path.join(configDir.dir, 'sops', 'age', 'keys.txt')
    const read = readIdentityFile(file)
    if (!('error' in read)) readers.push({ location: file, bytes: read.bytes, multiplePerLine: false })
    else if (!read.missing) errors.push(`failed to open file: ${read.error}`)
    else if (nothingElse()) unused.push(file)
  }
  for (const r of readers) {
    try {
      const found = unwrapIdentities(r.bytes, r.location, ctx, r.multiplePerLine)
      identities.push(...found)
      if (found.length === 0) unused.push(r.location)
    } catch (e) {
      errors.push(errorText(e))
    }
  }
  return { identities, unused, errors }
}

/**
 * sops's loadAgeSSHIdentities: SOPS_AGE_SSH_PRIVATE_KEY_FILE, SOPS_AGE_SSH_PRIVATE_KEY_CMD (it
 * sees SOPS_AGE_RECIPIENT), then ~/.ssh/id_ed25519 and ~/.ssh/id_rsa when they exist.
 */
async function loadSshIdentities(recipient: string, ctx: KeyContext): Promise<LoadedIdentities> {
  const env = ctx.env
  const found: LoadedIdentities = { identities: [], unused: [], errors: [] }
  const add = (result: AgeIdentity | { error: string }, source: string) => {
    if ('error' in result) found.errors.push(result.error)
    else found.identities.push({ identity: result, source })
  }
  const sshFile = env[SOPS_AGE_SSH_PRIVATE_KEY_FILE]
  if (sshFile !== undefined) add(sshIdentityFromFile(sshFile), SOPS_AGE_SSH_PRIVATE_KEY_FILE)
  else found.unused.push(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
  const sshCmd = env[SOPS_AGE_SSH_PRIVATE_KEY_CMD]
  if (sshCmd !== undefined) {
    const out = await keyCommandOutput(sshCmd, recipient, ctx, SOPS_AGE_SSH_PRIVATE_KEY_CMD)
    add('error' in out ? out : sshIdentityFromCommand(out.bytes.toString('utf8')), SOPS_AGE_SSH_PRIVATE_KEY_CMD)
  } else found.unused.push(SOPS_AGE_SSH_PRIVATE_KEY_CMD)
  const home = userHomeDir(env)
  if ('error' in home) found.errors.push(home.error)
  else {
    for (const name of ['id_ed25519', 'id_rsa']) {
      const file = path.join(home.dir, '.ssh', name)
      if (existsSync(file)) add(sshIdentityFromFile(file), file)
      else found.unused.push(file)
    }
  }
  return found
}

/** sops's parseSSHIdentityFromPrivateKeyFile, with its messages. */
function sshIdentityFromFile(file: string): AgeIdentity | { error: string } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return { error: code === 'EISDIR' ? `failed to read file: read ${file}: is a directory` : `failed to open file: ${goOpenError(file, e)}` }
  }
  const parsed = parseSshPrivateKey(text)
  if ('key' in parsed) return sshIdentity(parsed.key)
  if ('error' in parsed) return { error: `malformed SSH identity in ${goQuote(file)}: ${parsed.error}` }
  if (parsed.publicKey) return encryptedSshIdentity(parsed.publicKey, file, text, readSecret)
  // A legacy encrypted PEM key holds no public key: sops reads it from the .pub beside it.
  const pubFile = `${file}.pub`
  let pubText: string
  try {
    pubText = readFileSync(pubFile, 'utf8')
  } catch (e) {
    return { error: `failed to obtain public ${goQuote(pubFile)} key for ${goQuote(file)} SSH key: ${goOpenError(pubFile, e)}` }
  }
  const pub = parseSshRecipient(pubText)
  if ('error' in pub) return { error: `failed to parse ${goQuote(pubFile)}: ssh: no key found` }
  return encryptedSshIdentity(pub, file, text, readSecret)
}

/** sops's parseSSHIdentityFromPrivateKeyCmdOutput: an encrypted key is refused here. */
function sshIdentityFromCommand(output: string): AgeIdentity | { error: string } {
  const parsed = parseSshPrivateKey(output)
  if ('key' in parsed) return sshIdentity(parsed.key)
  if ('error' in parsed) return { error: `malformed SSH identity returned by running ${SOPS_AGE_SSH_PRIVATE_KEY_CMD}: ${goQuote(parsed.error)}` }
  return { error: `the SSH key returned by running ${SOPS_AGE_SSH_PRIVATE_KEY_CMD} is password protected, which is unsupported. ("ssh: this private key is passphrase protected")` }
}

/**
 * A key file's text as sops reads it: os.Open's error in Go's words; a directory opens (and
 * holds no key), as in Go.
 */
export function readIdentityFile(file: string): { text: string; bytes: Buffer } | { error: string; missing: boolean } {
  try {
    const bytes = readFileSync(file)
    return { text: bytes.toString('utf8'), bytes }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EISDIR') return { text: '', bytes: Buffer.alloc(0) }
    return { error: goOpenError(file, e), missing: code === 'ENOENT' }
  }
}

/** What parsing identities needs from the key context: plugins run with its env and signal. */
type ParseContext = Partial<Pick<KeyContext, 'warn' | 'env' | 'signal'>>

/**
 * sops's unwrapIdentities: an age-encrypted file (plain or armored: a passphrase-protected
 * identity file) is one identity that asks for its passphrase when first needed; anything
 * else is parsed as identity lines.
 */
export function unwrapIdentities(bytes: Buffer, location: string, ctx: ParseContext, multiplePerLine: boolean): ParsedIdentity[] {
  const peeked = bytes.subarray(0, 14).toString('latin1')
  if (peeked !== 'age-encryption' && peeked !== '-----BEGIN AGE') return parseIdentities(bytes.toString('utf8'), location, ctx, multiplePerLine)
  let contents = bytes
  if (peeked === '-----BEGIN AGE') {
    const dearmored = readArmor(bytes)
    if (dearmored.error !== undefined) throw new Error(`failed to read '${location}': ${dearmored.error}`)
    contents = dearmored.data
  }
  const identity = encryptedIdentity(contents, location, { askPassphrase: readSecret, ...(ctx.warn ? { warn: ctx.warn } : {}) })
  return [{ identity, source: location }]
}

/**
 * sops's parseIdentities: one identity per line (several, split on white space, for
 * SOPS_AGE_KEY); empty lines and lines starting with `#` skipped, nothing trimmed.
 * `AGE-PLUGIN-…` identities are run through their plugin (age-plugin.ts).
 */
export function parseIdentities(text: string, location: string, ctx: ParseContext = {}, multiplePerLine = false): ParsedIdentity[] {
  const out: ParsedIdentity[] = []
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line === '' || line.startsWith('#')) continue
    for (const word of multiplePerLine ? line.split(/\s+/).filter((w) => w !== '') : [line]) {
      out.push({ identity: parseIdentity(word, location, ctx), source: location })
    }
  }
  return out
}

function parseIdentity(word: string, location: string, ctx: ParseContext): string | AgeIdentity {
  if (word.startsWith('AGE-PLUGIN-')) {
    const plugin = pluginIdentityName(word)
    if ('error' in plugin) throw new Error(`failed to parse '${location}' age identities: ${plugin.error}`)
    return pluginIdentity(plugin.name, word, { env: ctx.env ?? process.env, askSecret: readSecret, ...(ctx.signal ? { signal: ctx.signal } : {}) })
  }
  const problem = identityProblem(word)
  if (problem !== undefined) throw new Error(`failed to parse '${location}' age identities: ${problem}`)
  return word
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

export type DirOrError = { dir: string } | { error: string }

/** sops's getUserConfigDir: os.UserConfigDir, and XDG_CONFIG_HOME on macOS too; Go's error texts. */
export function userConfigDir(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): DirOrError {
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
export function userHomeDir(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): DirOrError {
  const home = platform === 'win32' ? env.USERPROFILE : env.HOME
  if (nonEmpty(home)) return { dir: home }
  return { error: platform === 'win32' ? '%userprofile% is not defined' : '$HOME is not defined' }
}
