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
  generateKeyPairSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'

const INTRO = 'age-encryption.org/v1\n'
const X25519_INFO = 'age-encryption.org/v1/X25519'
const CHUNK = 64 * 1024
const TAG = 16

export interface X25519Identity {
  privateKey: KeyObject
  /** The raw 32-byte public key, part of the HKDF salt. */
  publicKey: Buffer
}

// ---- bech32 (BIP 173), just enough to read AGE-SECRET-KEY-1… ------------------------------

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

function polymod(values: number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ v
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!
  }
  return chk
}

function bech32Decode(text: string): { hrp: string; data: Buffer } | undefined {
  const s = text.toLowerCase()
  const pos = s.lastIndexOf('1')
  if (pos < 1 || pos + 7 > s.length) return undefined
  const hrp = s.slice(0, pos)
  const words: number[] = []
  for (const c of s.slice(pos + 1)) {
    const v = CHARSET.indexOf(c)
    if (v === -1) return undefined
    words.push(v)
  }
  const expanded = [...hrp].map((c) => c.charCodeAt(0) >> 5).concat([0], [...hrp].map((c) => c.charCodeAt(0) & 31))
  if (polymod([...expanded, ...words]) !== 1) return undefined
  // 5-bit words -> bytes
  let acc = 0
  let bits = 0
  const out: number[] = []
  for (const w of words.slice(0, -6)) {
    acc = (acc << 5) | w
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >>> bits) & 0xff)
    }
  }
  return { hrp, data: Buffer.from(out) }
}

// ---- keys ---------------------------------------------------------------------------------

/**
 * Keys are imported as JWK, not DER: OpenSSL 3 builds a raw X25519 key directly, while a DER
 * import goes through its decoder framework, ~1 ms on a cold start (a third of the age work).
 * Node derives the public half from `d` and ignores `x` for a private JWK.
 */
function jwk(fields: { d?: Buffer; x?: Buffer }): { kty: 'OKP'; crv: 'X25519'; d?: string; x: string } {
  return { kty: 'OKP', crv: 'X25519', x: fields.x?.toString('base64url') ?? '', ...(fields.d ? { d: fields.d.toString('base64url') } : {}) }
}

/** Parse `AGE-SECRET-KEY-1…`; undefined for anything else (post-quantum, plugins). */
export function parseX25519Identity(identity: string): X25519Identity | undefined {
  if (!identity.startsWith('AGE-SECRET-KEY-1')) return undefined
  const decoded = bech32Decode(identity)
  if (!decoded || decoded.hrp !== 'age-secret-key-' || decoded.data.length !== 32) return undefined
  const privateKey = createPrivateKey({ key: jwk({ d: decoded.data }), format: 'jwk' })
  decoded.data.fill(0)
  return { privateKey, publicKey: rawPublicKey(privateKey) }
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url')
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: jwk({ x: raw }), format: 'jwk' })
}

// ---- the file format ---------------------------------------------------------------------

interface Stanza {
  type: string
  args: string[]
  body: Buffer
}

interface Header {
  stanzas: Stanza[]
  /** Bytes covered by the MAC: the header up to and including "---". */
  macInput: Buffer
  mac: Buffer
  payloadOffset: number
}

/** Unpadded standard base64, strictly (age forbids padding and non-canonical encodings). */
function b64(s: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(s)) throw new Error('malformed base64 in age header')
  return Buffer.from(s, 'base64')
}

function parseHeader(file: Buffer): Header {
  if (!file.subarray(0, INTRO.length).equals(Buffer.from(INTRO))) throw new Error('not an age v1 file')
  const stanzas: Stanza[] = []
  let pos = INTRO.length
  const readLine = (): string => {
    const end = file.indexOf(0x0a, pos)
    if (end === -1) throw new Error('truncated age header')
    const line = file.subarray(pos, end).toString('latin1')
    pos = end + 1
    return line
  }
  for (;;) {
    const lineStart = pos
    const line = readLine()
    if (line.startsWith('--- ')) {
      return { stanzas, macInput: file.subarray(0, lineStart + 3), mac: b64(line.slice(4)), payloadOffset: pos }
    }
    if (!line.startsWith('-> ')) throw new Error('malformed age header')
    const [type, ...args] = line.slice(3).split(' ')
    const bodyParts: Buffer[] = []
    for (;;) {
      const bodyLine = readLine()
      bodyParts.push(b64(bodyLine))
      if (bodyLine.length < 64) break // the last body line is short (possibly empty)
    }
    stanzas.push({ type: type!, args, body: Buffer.concat(bodyParts) })
  }
}

/**
 * HKDF-SHA256 (RFC 5869) for one 32-byte block: extract, then one expand step. Two HMACs,
 * because node's hkdfSync loads and validates enough on first use to cost a cold start ~0.5 ms.
 * An empty salt is HMAC's all-zero key, as the RFC specifies.
 */
function hkdf(ikm: Buffer, salt: Buffer, info: string): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest()
  return createHmac('sha256', prk).update(info).update(ONE).digest()
}
const ONE = Buffer.from([1])

function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer {
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG })
  d.setAuthTag(sealed.subarray(sealed.length - TAG))
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()])
}

function unwrapFileKey(stanza: Stanza, identity: X25519Identity): Buffer | undefined {
  if (stanza.type !== 'X25519' || stanza.args.length !== 1 || stanza.body.length !== 32) return undefined
  const share = b64(stanza.args[0]!)
  if (share.length !== 32) return undefined
  const shared = diffieHellman({ privateKey: identity.privateKey, publicKey: publicKeyObject(share) })
  if (shared.every((b) => b === 0)) return undefined // low-order point
  const wrapKey = hkdf(shared, Buffer.concat([share, identity.publicKey]), X25519_INFO)
  try {
    return chachaOpen(wrapKey, Buffer.alloc(12), stanza.body)
  } catch {
    return undefined // not for this identity
  }
}

function decryptPayload(fileKey: Buffer, payload: Buffer): Buffer {
  if (payload.length < 16) throw new Error('truncated age payload')
  const key = hkdf(fileKey, payload.subarray(0, 16), 'payload')
  const body = payload.subarray(16)
  const chunks: Buffer[] = []
  let counter = 0
  for (let off = 0; ; counter++) {
    const end = Math.min(off + CHUNK + TAG, body.length)
    const last = end === body.length
    const nonce = Buffer.alloc(12)
    nonce.writeUIntBE(counter, 5, 6)
    if (last) nonce[11] = 1
    chunks.push(chachaOpen(key, nonce, body.subarray(off, end)))
    if (last) return Buffer.concat(chunks)
    off = end
  }
}

export type NativeResult = { status: 'ok'; plaintext: Buffer } | { status: 'no-match' } | { status: 'unsupported' }

/**
 * Decrypt with X25519 identities. 'unsupported' when the file has stanza types this code does
 * not handle (the caller then uses typage); 'no-match' when no identity opens any stanza.
 */
export function decryptX25519(file: Buffer, identities: readonly X25519Identity[]): NativeResult {
  const header = parseHeader(file)
  if (header.stanzas.some((s) => s.type !== 'X25519')) return { status: 'unsupported' }
  for (const stanza of header.stanzas) {
    for (const identity of identities) {
      const fileKey = unwrapFileKey(stanza, identity)
      if (!fileKey) continue
      const mac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(header.macInput).digest()
      if (mac.length !== header.mac.length || !timingSafeEqual(mac, header.mac)) throw new Error('bad header MAC')
      const plaintext = decryptPayload(fileKey, file.subarray(header.payloadOffset))
      fileKey.fill(0)
      return { status: 'ok', plaintext }
    }
  }
  return { status: 'no-match' }
}

/** Decode age's ASCII armor (strict about the frame, lenient about surrounding whitespace). */
export function dearmor(text: string): Buffer {
  const lines = text.trim().split(/\r?\n/)
  if (lines[0] !== '-----BEGIN AGE ENCRYPTED FILE-----' || lines[lines.length - 1] !== '-----END AGE ENCRYPTED FILE-----') {
    throw new Error('invalid armor frame')
  }
  const body = lines.slice(1, -1).join('')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error('invalid armor base64')
  return Buffer.from(body, 'base64')
}

// ---- encryption -------------------------------------------------------------------------

/** The 32-byte public key of an `age1…` X25519 recipient; undefined for any other kind. */
export function parseX25519Recipient(recipient: string): Buffer | undefined {
  if (!recipient.startsWith('age1')) return undefined
  const decoded = bech32Decode(recipient)
  return decoded && decoded.hrp === 'age' && decoded.data.length === 32 ? decoded.data : undefined
}

function b64NoPad(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '')
}

function chachaSeal(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG })
  const body = Buffer.concat([c.update(plaintext), c.final()])
  return Buffer.concat([body, c.getAuthTag()])
}

function x25519Stanza(fileKey: Buffer, recipient: Buffer): string {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  const share = rawPublicKey(publicKey)
  const shared = diffieHellman({ privateKey, publicKey: publicKeyObject(recipient) })
  if (shared.every((b) => b === 0)) throw new Error('invalid X25519 recipient (low-order point)')
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
    const chunkNonce = Buffer.alloc(12)
    chunkNonce.writeUIntBE(counter, 5, 6)
    if (last) chunkNonce[11] = 1
    chunks.push(chachaSeal(key, chunkNonce, plaintext.subarray(off, end)))
    if (last) return Buffer.concat(chunks)
  }
}

/** An age v1 file encrypting `plaintext` to X25519 recipients (their 32-byte public keys). */
export function encryptX25519(plaintext: Uint8Array, recipients: readonly Buffer[]): Buffer {
  const fileKey = randomBytes(16)
  try {
    const header = INTRO + recipients.map((r) => x25519Stanza(fileKey, r)).join('') + '---'
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
