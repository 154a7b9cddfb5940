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
import type { Decrypter } from 'age-encryption'
import { GenericError } from '../core/errors.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'
import { armor, decryptX25519, encryptX25519, parseX25519Identity, parseX25519Recipient, type X25519Identity } from './age-x25519.js'
import { parseAgeFile, readArmor } from './age-format.js'
import { bech32Decode } from './bech32.js'
import { goQuote } from './go-text.js'
import { errorText, loadAge, redact, typedKeyProblem } from './age-common.js'
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
  if (problem !== undefined) throw new GenericError(problem)
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
  if (problem !== undefined) throw new GenericError(problem)
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
