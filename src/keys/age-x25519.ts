/**
 * Native decryption of age files whose recipients are X25519 (`age1…`) — what sops files
 * overwhelmingly use — with node:crypto only (X25519, HKDF-SHA256, ChaCha20-Poly1305, HMAC).
 *
 * Why not typage for this: it brings noble's pure-JS curves plus web streams, which cost more
 * than the rest of a cold `tsops decrypt` together. typage stays the implementation for every
 * other recipient and identity type (post-quantum, plugins); this file follows
 * https://age-encryption.org/v1 exactly (header MAC, STREAM payload, armor), and its output is
 * checked against typage and against real sops in the tests.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'
import { bech32Decode } from './bech32.js'
import { decodeString, parseAgeFile, readArmor, type AgeHeader, type AgeStream, type Stanza } from './age-format.js'

const INTRO = 'age-encryption.org/v1\n'
const X25519_INFO = 'age-encryption.org/v1/X25519'
const CHUNK = 64 * 1024
const TAG = 16

export interface X25519Identity {
  privateKey: KeyObject
  /** The raw 32-byte public key, part of the HKDF salt. */
  publicKey: Buffer
}

// ---- keys ---------------------------------------------------------------------------------

/**
 * Keys are imported as JWK, not DER: OpenSSL 3 builds a raw X25519 key directly, while a DER
 * import goes through its decoder framework, ~1 ms on a cold start (a third of the age work).
 * Node derives the public half from `d` and ignores `x` for a private JWK.
 */
export function jwk(fields: { d?: Buffer; x?: Buffer }): { kty: 'OKP'; crv: 'X25519'; d?: string; x: string } {
  return { kty: 'OKP', crv: 'X25519', x: fields.x?.toString('base64url') ?? '', ...(fields.d ? { d: fields.d.toString('base64url') } : {}) }
}

/** Parse `AGE-SECRET-KEY-1…`; undefined for anything else (post-quantum, plugins). */
export function parseX25519Identity(identity: string): X25519Identity | undefined {
  if (!identity.startsWith('AGE-SECRET-KEY-1')) return undefined
  const decoded = bech32Decode(identity)
  if (!decoded.ok || decoded.hrp !== 'AGE-SECRET-KEY-' || decoded.data.length !== 32) return undefined
  const privateKey = createPrivateKey({ key: jwk({ d: decoded.data }), format: 'jwk' })
  decoded.data.fill(0)
  return { privateKey, publicKey: rawPublicKey(privateKey) }
}

export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url')
}

export function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: jwk({ x: raw }), format: 'jwk' })
}

/** X25519(scalar, point) for raw 32-byte values (the scalar is clamped, as Go's curve25519 does). */
export function x25519(scalar: Buffer, point: Buffer): Buffer {
  return diffieHellman({ privateKey: createPrivateKey({ key: jwk({ d: scalar }), format: 'jwk' }), publicKey: publicKeyObject(point) })
}

// ---- decryption ---------------------------------------------------------------------------

/**
 * HKDF-SHA256 (RFC 5869) for one 32-byte block: extract, then one expand step. Two HMACs,
 * because node's hkdfSync loads and validates enough on first use to cost a cold start ~0.5 ms.
 * An empty salt is HMAC's all-zero key, as the RFC specifies.
 */
export function hkdf(ikm: Buffer, salt: Buffer, info: string): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest()
  return createHmac('sha256', prk).update(info).update(ONE).digest()
}
const ONE = Buffer.from([1])

export function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer {
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG })
  d.setAuthTag(sealed.subarray(sealed.length - TAG))
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()])
}

/**
 * X25519(private, public), or undefined for a low-order public key (the all-zero secret age
 * refuses). OpenSSL 3 refuses to derive it and throws ("failed during derivation") rather than
 * returning zeros, so both are checked. The C2SP CCTV vectors x25519_identity and
 * x25519_low_order are such shares.
 */
function sharedSecret(privateKey: KeyObject, publicKey: Buffer): Buffer | undefined {
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey, publicKey: publicKeyObject(publicKey) })
  } catch {
    return undefined
  }
  return shared.every((b) => b === 0) ? undefined : shared
}

/** age's X25519Identity.unwrap for one stanza: the file key, undefined (not ours), or age's error. */
function unwrapFileKey(stanza: Stanza, identity: X25519Identity): Buffer | undefined {
  if (stanza.type !== 'X25519') return undefined
  if (stanza.args.length !== 1) throw new AgeError('invalid X25519 recipient block')
  const share = decodeString(stanza.args[0]!)
  if (!share.ok) throw new AgeError(`failed to parse X25519 recipient: ${share.error}`)
  if (share.bytes.length !== 32) throw new AgeError('invalid X25519 recipient block')
  const shared = sharedSecret(identity.privateKey, share.bytes)
  if (!shared) throw new AgeError('invalid X25519 recipient: crypto/ecdh: bad X25519 remote ECDH input: low order point')
  const wrapKey = hkdf(shared, Buffer.concat([share.bytes, identity.publicKey]), X25519_INFO)
  if (stanza.body.length !== FILE_KEY_SIZE + TAG) throw new AgeError('invalid X25519 recipient block: incorrect file key size')
  try {
    return chachaOpen(wrapKey, Buffer.alloc(12), stanza.body)
  } catch {
    return undefined // not for this identity
  }
}
const FILE_KEY_SIZE = 16

/** An error age returns, in its words. */
class AgeError extends Error {}

/**
 * stream.DecryptReader (age v1.3.1) over the whole payload (after the nonce), read to the end as
 * sops's io.Copy does, with its errors: a chunk is read in full when there are enough bytes; a
 * short one is the last; a full one that does not open as a middle chunk is tried as the last
 * one; after the last, any byte left is "trailing data". (The C2SP CCTV stream vectors pin
 * each of these.)
 */
function decryptPayload(key: Buffer, payload: AgeStream): Buffer {
  const chunks: Buffer[] = []
  const { data } = payload
  let off = 0
  for (let counter = 0; ; counter++) {
    // io.ReadFull: a short read ends with the reader's own error, if it has one.
    const n = Math.min(data.length - off, CHUNK + TAG)
    if (n < CHUNK + TAG && payload.error !== undefined) throw new AgeError(payload.error)
    if (n === 0) throw new AgeError('unexpected EOF') // a message cannot end without a marked chunk
    let last = n < CHUNK + TAG
    if (last && counter > 0 && n === TAG) throw new AgeError('last chunk is empty, try age v1.0.0, and please consider reporting this')
    const sealed = data.subarray(off, off + n)
    off += n
    let plain = openChunk(key, chunkNonce(counter, last), sealed)
    if (plain === undefined && !last) {
      last = true // a full-length final chunk
      plain = openChunk(key, chunkNonce(counter, true), sealed)
    }
    if (plain === undefined) throw new AgeError('failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with')
    chunks.push(plain)
    if (!last) continue
    if (off < data.length) throw new AgeError('trailing data after end of encrypted file')
    if (payload.error !== undefined) throw new AgeError(`non-EOF error reading after end of encrypted file: ${payload.error}`)
    return Buffer.concat(chunks)
  }
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeUIntBE(counter, 5, 6)
  if (last) nonce[11] = 1
  return nonce
}

/** The chunk's plaintext, or undefined when it does not authenticate under this nonce. */
function openChunk(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  try {
    return chachaOpen(key, nonce, sealed)
  } catch {
    return undefined
  }
}

/**
 * Outcome of a native decryption, staged as sops reports it: `reader` errors (header, no
 * matching identity, MAC, nonce) come from age.Decrypt, `copy` errors from reading the payload.
 */
export type NativeResult =
  | { status: 'ok'; plaintext: Buffer }
  | { status: 'no-match' }
  | { status: 'unsupported' }
  | { status: 'error'; stage: 'reader' | 'copy'; error: string }

/**
 * Decrypt with X25519 identities, following age.Decrypt. 'unsupported' when the file has stanza
 * types this code does not handle (the caller then uses typage); 'no-match' when no identity
 * opens any stanza.
 */
export function decryptX25519(input: Buffer | AgeStream, identities: readonly X25519Identity[]): NativeResult {
  const file = parseAgeFile(input)
  if (!file.ok) return { status: 'error', stage: 'reader', error: file.error }
  const { header, payload } = file
  if (header.stanzas.some((s) => s.type !== 'X25519')) return { status: 'unsupported' }
  const reader = (error: string): NativeResult => ({ status: 'error', stage: 'reader', error })
  let fileKey: Buffer | undefined
  try {
    fileKey = findFileKey(header, identities)
  } catch (e) {
    if (e instanceof AgeError) return reader(e.message)
    throw e
  }
  if (!fileKey) return { status: 'no-match' }
  try {
    const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(header.macInput).digest()
    if (!timingSafeEqual(mac, header.mac)) return reader('bad header MAC')
    if (payload.data.length < 16) {
      const why = payload.error ?? (payload.data.length === 0 ? 'EOF' : 'unexpected EOF')
      return reader(`failed to read nonce: ${why}`)
    }
    const key = hkdf(fileKey, payload.data.subarray(0, 16), 'payload')
    const body: AgeStream = { data: payload.data.subarray(16), ...(payload.error === undefined ? {} : { error: payload.error }) }
    try {
      return { status: 'ok', plaintext: decryptPayload(key, body) }
    } catch (e) {
      if (e instanceof AgeError) return { status: 'error', stage: 'copy', error: e.message }
      throw e
    }
  } finally {
    fileKey.fill(0)
  }
}

function findFileKey(header: AgeHeader, identities: readonly X25519Identity[]): Buffer | undefined {
  for (const identity of identities) {
    for (const stanza of header.stanzas) {
      const fileKey = unwrapFileKey(stanza, identity)
      if (fileKey) return fileKey
    }
  }
  return undefined
}

/** The bytes age's armor reader yields for an `enc` (see readArmor). */
export function dearmor(text: string): AgeStream {
  return readArmor(text)
}

// ---- encryption -------------------------------------------------------------------------

/** The 32-byte public key of an `age1…` X25519 recipient; undefined for any other kind. */
export function parseX25519Recipient(recipient: string): Buffer | undefined {
  if (!recipient.startsWith('age1')) return undefined
  const decoded = bech32Decode(recipient)
  return decoded.ok && decoded.hrp === 'age' && decoded.data.length === 32 ? decoded.data : undefined
}

/** sops's words for a failed age.Encrypt (age keysource), in front of age's own error. */
const WRITER_FAILED = 'failed to create writer for encrypting sops data key with age'

export function b64NoPad(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '')
}

export function chachaSeal(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG })
  const body = Buffer.concat([c.update(plaintext), c.final()])
  return Buffer.concat([body, c.getAuthTag()])
}

/**
 * `index`: the recipient's position, which age's error names. The ephemeral key is 32 random
 * bytes imported as a private JWK, as age does (rand.Read, then X25519 with the base point), not
 * generateKeyPairSync: on Node 20 exporting a key of a generated pair can deadlock the process
 * for good when a garbage collection during the export frees the key-generation job (~KeyGenJob
 * takes the mutex the export holds).
 */
function x25519Stanza(fileKey: Buffer, recipient: Buffer, index: number): string {
  const scalar = randomBytes(32)
  const privateKey = createPrivateKey({ key: jwk({ d: scalar }), format: 'jwk' })
  scalar.fill(0)
  const share = rawPublicKey(privateKey)
  const shared = sharedSecret(privateKey, recipient)
  if (!shared) throw new Error(`${WRITER_FAILED}: failed to wrap key for recipient #${index}: crypto/ecdh: bad X25519 remote ECDH input: low order point`)
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient]), X25519_INFO)
  // A 32-byte body is 43 base64 characters: one line, shorter than 64 as the format requires.
  return `-> X25519 ${b64NoPad(share)}\n${b64NoPad(chachaSeal(wrapKey, Buffer.alloc(12), fileKey))}\n`
}

function encryptPayload(fileKey: Buffer, plaintext: Buffer): Buffer {
  const nonce = randomBytes(16)
  const key = hkdf(fileKey, nonce, 'payload')
  const chunks: Buffer[] = [nonce]
  for (let off = 0, counter = 0; ; off += CHUNK, counter++) {
    const end = Math.min(off + CHUNK, plaintext.length)
    const last = end === plaintext.length
    chunks.push(chachaSeal(key, chunkNonce(counter, last), plaintext.subarray(off, end)))
    if (last) return Buffer.concat(chunks)
  }
}

/** An age v1 file encrypting `plaintext` to X25519 recipients (their 32-byte public keys). */
export function encryptX25519(plaintext: Uint8Array, recipients: readonly Buffer[]): Buffer {
  const fileKey = randomBytes(16)
  try {
    const header = INTRO + recipients.map((r, i) => x25519Stanza(fileKey, r, i)).join('') + '---'
    const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(header).digest()
    return Buffer.concat([Buffer.from(`${header} ${b64NoPad(mac)}\n`), encryptPayload(fileKey, Buffer.from(plaintext))])
  } finally {
    fileKey.fill(0)
  }
}

/** age's ASCII armor: padded base64 in 64-column lines, and a final newline (what `age -a` writes). */
export function armor(file: Buffer): string {
  const b64 = file.toString('base64')
  const lines: string[] = []
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64))
  return `-----BEGIN AGE ENCRYPTED FILE-----\n${lines.join('\n')}\n-----END AGE ENCRYPTED FILE-----\n`
}
