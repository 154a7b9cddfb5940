/**
 * age key source (spec §6.1): `enc` is an ASCII-armored age file, encrypted to one recipient,
 * whose payload is the raw data key (32 bytes) or Shamir share (33 bytes). Recipients and
 * identities of every kind sops 3.13 takes: X25519 (node:crypto, age-x25519.ts), post-quantum
 * (typage), SSH (age-ssh.ts), plugins (age-plugin.ts), passphrase-protected identity files
 * (age-encrypted.ts); where identities are found: age-identities.ts.
 *
 * `age-encryption` (typage) is imported lazily so commands that never touch age don't load it.
 * Identities are loaded once per KeyContext (WeakMap below): a bulk decrypt of many files reads
 * the key files and runs SOPS_AGE_KEY_CMD once, not once per file.
 */
// node:child_process and node:fs/promises are loaded where used: at start-up they (and the
// streams, net and readline modules they pull in) cost a cold decrypt more than the decryption.
import type { Decrypter, Recipient } from 'age-encryption'
import { GenericError } from '../core/errors.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'
import { armor, decryptX25519, encryptX25519, parseX25519Identity, parseX25519Recipient, type X25519Identity } from './age-x25519.js'
import { parseAgeFile, readArmor } from './age-format.js'
import { goQuote } from './go-text.js'
import { errorText, loadAge, redact, typedKeyProblem, type AgeModule } from './age-common.js'
import { parseSshRecipient, wrapToSsh, type SshPublicKey, type StanzaLike } from './age-ssh.js'
import { pluginRecipientName, pluginWrap } from './age-plugin.js'
import { readSecret } from './age-terminal.js'
import { decrypterFor, identitiesFor, type LoadedIdentities, type ParsedIdentity } from './age-identities.js'

// The module's public face stays here: the CLI, the editor and the tests import from age.js.
export {
  SOPS_AGE_KEY,
  SOPS_AGE_KEY_CMD,
  SOPS_AGE_KEY_FILE,
  SOPS_AGE_RECIPIENT,
  SOPS_AGE_SSH_PRIVATE_KEY_CMD,
  SOPS_AGE_SSH_PRIVATE_KEY_FILE,
} from './age-common.js'
export { shlexSplit } from './age-command.js'
export { parseIdentities, type LoadedIdentities } from './age-identities.js'
export { defaultAgeKeyFile, generateAgeIdentity, keygen } from './age-keygen.js'

// ---------------------------------------------------------------------------------------------
// The key source

export function ageKeySource(recipient: string): KeySource {
  const id = recipient.trim()
  return {
    type: 'age',
    id,
    keyFields: { recipient: id },
    wrap: (part, ctx) => wrap(id, part, ctx),
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
  if (problem === undefined) return ageKeySource(recipient)
  // An empty recipient comes from a comma list (`--age a,,b`, a trailing comma), which sops splits without dropping empty items.
  const hint = recipient === '' ? 'The recipient list has an empty item (two commas in a row, or one at either end): remove it.' : undefined
  throw new GenericError(problem, { code: 'BAD_KEY', ...(hint === undefined ? {} : { hint }) })
}

/** sops's parseRecipient failure text for `recipient`, or undefined when sops accepts it. */
export function recipientProblem(recipient: string): string | undefined {
  const bech32Key = 'failed to parse input as Bech32-encoded age public key'
  if (recipient.startsWith('age1pq1')) {
    const problem = typedKeyProblem(recipient, 'age1pq', HYBRID_PUBLIC_KEY_SIZE, 'invalid MLKEM768-X25519 public key')
    return problem === undefined ? undefined : `${bech32Key}: malformed recipient ${goQuote(recipient)}: ${problem}`
  }
  if (recipient.startsWith('age1') && recipient.split('1').length > 2) {
    const plugin = pluginRecipientName(recipient)
    return 'name' in plugin ? undefined : `failed to parse input as age key from age plugin: ${plugin.error}`
  }
  if (recipient.startsWith('age1')) {
    const problem = typedKeyProblem(recipient, 'age', 32, 'invalid X25519 public key')
    return problem === undefined ? undefined : `${bech32Key}: malformed recipient ${goQuote(recipient)}: ${problem}`
  }
  if (recipient.startsWith('ssh-')) {
    const ssh = parseSshRecipient(recipient)
    return 'error' in ssh ? `failed to parse input as age-ssh public key: ${ssh.error}` : undefined
  }
  return `failed to parse input, unknown recipient type: ${goQuote(recipient)}`
}

/** MLKEM768-X25519: 1184-byte ML-KEM key and a 32-byte X25519 key. */
const HYBRID_PUBLIC_KEY_SIZE = 1216

async function wrap(recipient: string, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  // X25519 recipients (nearly all) are wrapped with node:crypto; typage handles the rest.
  const x25519 = parseX25519Recipient(recipient)
  if (x25519) return { type: 'age', fields: { recipient, enc: armor(encryptX25519(part, [x25519])) } }
  const problem = recipientProblem(recipient)
  if (problem !== undefined) throw new GenericError(problem, { code: 'BAD_KEY' })
  const age = await loadAge()
  const encrypter = new age.Encrypter()
  encrypter.addRecipient(recipientFor(recipient, ctx, age))
  let file: Uint8Array
  try {
    file = await encrypter.encrypt(part)
  } catch (e) {
    throw new GenericError(`failed to create writer for encrypting sops data key with age: failed to wrap key for recipient #0: ${errorText(e)}`, { code: 'KEY_WRAP_FAILED' })
  }
  // typage's armor is age's: 64-column base64 and a final newline after the END line.
  return { type: 'age', fields: { recipient, enc: age.armor.encode(file) } }
}

/**
 * What typage encrypts to, routed as sops's parseRecipient routes it: `age1pq1…` natively,
 * any other `age1NAME1…` through the plugin `age-plugin-NAME` (age1tag1… too, as in sops),
 * `ssh-…` as agessh. `recipient` has already been checked (recipientProblem).
 */
function recipientFor(recipient: string, ctx: KeyContext, age: AgeModule): string | Recipient {
  const stanza = (s: StanzaLike) => new age.Stanza(s.args, s.body)
  if (recipient.startsWith('ssh-')) {
    const ssh = parseSshRecipient(recipient) as SshPublicKey
    return { wrapFileKey: (fileKey) => [stanza(wrapToSsh(ssh, fileKey))] }
  }
  if (recipient.startsWith('age1pq1')) return recipient
  const plugin = pluginRecipientName(recipient) as { name: string }
  const pluginCtx = { env: ctx.env, askSecret: readSecret, ...(ctx.signal ? { signal: ctx.signal } : {}) }
  return { wrapFileKey: async (fileKey) => (await pluginWrap(plugin.name, recipient, fileKey, pluginCtx)).map(stanza) }
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
  const parsed = identities.map((i) => (typeof i.identity === 'string' ? parseX25519Identity(i.identity) : undefined))
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
