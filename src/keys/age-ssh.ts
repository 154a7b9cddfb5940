/**
 * SSH keys as age recipients and identities, as filippo.io/age/agessh (v1.3.1) does it, with
 * node:crypto only:
 *   ssh-ed25519: the Ed25519 key converted to X25519, the shared secret "tweaked" by the SSH key
 *     (HKDF of its wire form), then HKDF + ChaCha20-Poly1305 like the X25519 recipient;
 *   ssh-rsa: RSA-OAEP-SHA256 with the label "age-encryption.org/v1/ssh-rsa".
 * Both stanzas carry the key's short fingerprint (SHA-256 of the wire form, 4 bytes) so an
 * identity skips stanzas of other keys. Private keys are read like golang.org/x/crypto/ssh's
 * ParseRawPrivateKey (OpenSSH, PKCS#1 and PKCS#8 PEM); the error texts are Go's.
 */
import { constants, createHash, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto'
import { b64NoPad, chachaOpen, chachaSeal, hkdf, x25519 } from './age-x25519.js'
import { decodeString } from './age-format.js'
import { goBase64Decode, goQuote } from './go-text.js'

const ED25519_LABEL = 'age-encryption.org/v1/ssh-ed25519'
const RSA_LABEL = 'age-encryption.org/v1/ssh-rsa'
const BASEPOINT = Buffer.concat([Buffer.from([9]), Buffer.alloc(31)])
const ZERO_NONCE = Buffer.alloc(12)

/** An age stanza as typage hands it to identities: args[0] is the type. */
export interface StanzaLike {
  args: string[]
  body: Uint8Array
}

/** An SSH public key: its type, its wire form (what the fingerprint and tweak hash) and the key. */
export interface SshPublicKey {
  type: 'ssh-ed25519' | 'ssh-rsa'
  wire: Buffer
  /** ssh-ed25519: the Ed25519 key as an X25519 (Montgomery) point. */
  montgomery?: Buffer
  /** ssh-rsa: the RSA key. */
  rsa?: KeyObject
}

// ---- SSH wire format ------------------------------------------------------------------------

class Wire {
  pos = 0
  constructor(readonly buf: Buffer) {}
  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new WireError()
    const n = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return n
  }
  bytes(): Buffer {
    const n = this.u32()
    if (this.pos + n > this.buf.length) throw new WireError()
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  text(): string {
    return this.bytes().toString('latin1')
  }
}
class WireError extends Error {}

function wireString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'latin1') : b
  const len = Buffer.alloc(4)
  len.writeUInt32BE(body.length)
  return Buffer.concat([len, body])
}

/** An mpint's magnitude (leading zero bytes dropped), base64url for a JWK. */
function jwkInt(b: Buffer): string {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  return b.subarray(i).toString('base64url')
}

export function sshFingerprint(wire: Buffer): string {
  return b64NoPad(createHash('sha256').update(wire).digest().subarray(0, 4))
}

// ---- public keys ----------------------------------------------------------------------------

const P = 2n ** 255n - 19n

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n
  let b = base % P
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P
    b = (b * b) % P
  }
  return result
}

/** Ed25519 public key to its X25519 point: u = (1 + y) / (1 - y) (edwards25519's BytesMontgomery). */
function edwardsToMontgomery(pk: Buffer): Buffer | undefined {
  const le = Buffer.from(pk)
  le[31]! &= 0x7f
  const y = BigInt(`0x${Buffer.from(le).reverse().toString('hex') || '0'}`)
  if (y >= P) return undefined
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P
  return Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse()
}

/** Key types golang.org/x/crypto/ssh parses but agessh does not take. */
const OTHER_SSH_TYPES = new Set(['ssh-dss', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ecdsa-sha2-nistp256@openssh.com', 'sk-ssh-ed25519@openssh.com'])

/** ssh.ParsePublicKey for the two types age knows; `other` for a type ssh knows and age does not. */
export function parseSshPublicWire(wire: Buffer): SshPublicKey | { error: string; other?: string } {
  try {
    const w = new Wire(wire)
    const type = w.text()
    if (type === 'ssh-ed25519') {
      const key = w.bytes()
      if (key.length !== 32) return { error: `ssh: invalid size ${key.length} for Ed25519 public key` }
      const montgomery = edwardsToMontgomery(key)
      if (!montgomery) return { error: 'invalid Ed25519 public key: edwards25519: invalid point encoding' }
      return { type, wire, montgomery }
    }
    if (type === 'ssh-rsa') {
      const e = w.bytes()
      const n = w.bytes()
      const rsa = createPublicKey({ key: { kty: 'RSA', n: jwkInt(n), e: jwkInt(e) }, format: 'jwk' })
      if ((rsa.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return { error: 'RSA key size is too small' }
      return { type, wire, rsa }
    }
    return OTHER_SSH_TYPES.has(type) ? { error: `unknown SSH recipient type: ${goQuote(type)}`, other: type } : { error: `ssh: unknown key algorithm: ${type}` }
  } catch (e) {
    if (e instanceof WireError) return { error: 'ssh: short read' }
    return { error: `ssh: ${e instanceof Error ? e.message : String(e)}` }
  }
}

/**
 * agessh.ParseRecipient over ssh.ParseAuthorizedKey: `TYPE BASE64 [comment]`, or with an
 * options field before the type; Go's errors (`ssh: no key found; last parsing error …`).
 */
export function parseSshRecipient(text: string): SshPublicKey | { error: string } {
  const line = text.split(/\r?\n/)[0]!.trim()
  let lastError: string | undefined
  let rest = line
  for (let attempt = 0; attempt < 2; attempt++) {
    const i = rest.search(/[ \t]/)
    if (i === -1) break
    const parsed = authorizedKey(rest.slice(0, i), rest.slice(i))
    if (!('error' in parsed)) return parsed
    if (parsed.other !== undefined) return { error: parsed.error }
    lastError = parsed.error
    rest = rest.slice(i).trimStart() // the first field may have been options: the type is next
  }
  const noKey = lastError === undefined ? 'ssh: no key found' : `ssh: no key found; last parsing error for ignored line: ${lastError}`
  return { error: `malformed SSH recipient: ${goQuote(text)}: ${noKey}` }
}

/** ssh's parseAuthorizedKey for one candidate: the key, its parse error, or a type mismatch. */
function authorizedKey(declared: string, rest: string): SshPublicKey | { error: string; other?: string } {
  const b64 = rest.trim().split(/[ \t]/)[0]!
  const decoded = goBase64Decode(b64, true, false)
  if (!decoded.ok) return { error: decoded.error }
  const parsed = parseSshPublicWire(decoded.bytes)
  if ('error' in parsed && parsed.other === undefined) return parsed
  const type = 'error' in parsed ? parsed.other! : parsed.type
  if (type !== declared) return { error: `ssh: authorized keys key type mismatch: human-readable type ${goQuote(declared)}, encoded type ${goQuote(type)}` }
  return parsed
}

/** The stanza agessh's Wrap writes for `fileKey`. */
export function wrapToSsh(recipient: SshPublicKey, fileKey: Uint8Array): StanzaLike {
  const fingerprint = sshFingerprint(recipient.wire)
  if (recipient.type === 'ssh-rsa') {
    const body = publicEncrypt({ key: recipient.rsa!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(RSA_LABEL) }, fileKey)
    return { args: ['ssh-rsa', fingerprint], body }
  }
  const ephemeral = randomBytes(32)
  const share = x25519(ephemeral, BASEPOINT)
  const shared = tweak(recipient.wire, x25519(ephemeral, recipient.montgomery!))
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient.montgomery!]), ED25519_LABEL)
  return { args: ['ssh-ed25519', fingerprint, b64NoPad(share)], body: chachaSeal(wrapKey, ZERO_NONCE, Buffer.from(fileKey)) }
}

/** The shared secret multiplied by a scalar derived from the SSH key (binds the stanza to it). */
function tweak(wire: Buffer, shared: Buffer): Buffer {
  return x25519(hkdf(Buffer.alloc(0), wire, ED25519_LABEL), shared)
}

// ---- identities -----------------------------------------------------------------------------

/** An age identity in typage's shape: the file key, or null when no stanza is for it. */
export interface AgeIdentity {
  unwrapFileKey(stanzas: readonly StanzaLike[]): Uint8Array | null | Promise<Uint8Array | null>
}

type SshPrivateKey = { type: 'ssh-ed25519'; seed: Buffer; publicKey: Buffer } | { type: 'ssh-rsa'; key: KeyObject; wire: Buffer }

/** agessh's Ed25519Identity / RSAIdentity. */
export function sshIdentity(key: SshPrivateKey): AgeIdentity {
  if (key.type === 'ssh-rsa') {
    const fingerprint = sshFingerprint(key.wire)
    return {
      unwrapFileKey: (stanzas) =>
        firstMatch(stanzas, 'ssh-rsa', (args, body) => {
          if (args.length !== 1) throw new Error('invalid ssh-rsa recipient block')
          if (args[0] !== fingerprint) return null
          try {
            return privateDecrypt({ key: key.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(RSA_LABEL) }, body)
          } catch {
            throw new Error('failed to decrypt file key: crypto/rsa: decryption error')
          }
        }),
    }
  }
  const wire = Buffer.concat([wireString('ssh-ed25519'), wireString(key.publicKey)])
  const fingerprint = sshFingerprint(wire)
  const secret = createHash('sha512').update(key.seed).digest().subarray(0, 32)
  const ours = x25519(secret, BASEPOINT)
  return {
    unwrapFileKey: (stanzas) =>
      firstMatch(stanzas, 'ssh-ed25519', (args, body) => {
        if (args.length !== 2) throw new Error('invalid ssh-ed25519 recipient block')
        const share = decodeString(args[1]!)
        if (!share.ok) throw new Error(`failed to parse ssh-ed25519 recipient: ${share.error}`)
        if (share.bytes.length !== 32) throw new Error('invalid ssh-ed25519 recipient block')
        if (args[0] !== fingerprint) return null
        let shared: Buffer
        try {
          shared = tweak(wire, x25519(secret, share.bytes))
        } catch {
          throw new Error('invalid X25519 recipient: bad input point: low order point')
        }
        try {
          return chachaOpen(hkdf(shared, Buffer.concat([share.bytes, ours]), ED25519_LABEL), ZERO_NONCE, Buffer.from(body))
        } catch {
          throw new Error('failed to decrypt file key: chacha20poly1305: message authentication failed')
        }
      }),
  }
}

/** agessh's multiUnwrap over the stanzas of one type: the first file key, null when none is ours. */
function firstMatch(stanzas: readonly StanzaLike[], type: string, unwrap: (args: string[], body: Uint8Array) => Uint8Array | null): Uint8Array | null {
  for (const s of stanzas) {
    if (s.args[0] !== type) continue
    const fileKey = unwrap(s.args.slice(1), s.body)
    if (fileKey) return fileKey
  }
  return null
}

/**
 * agessh's EncryptedSSHIdentity: harmless until a stanza is for its key; then it needs the
 * key's passphrase, which tsops cannot use yet (OpenSSH's bcrypt-pbkdf is not in node:crypto).
 */
export function encryptedSshIdentity(publicKey: SshPublicKey, file: string): AgeIdentity {
  const fingerprint = sshFingerprint(publicKey.wire)
  return {
    unwrapFileKey: (stanzas) => {
      for (const s of stanzas) {
        if (s.args[0] !== publicKey.type) continue
        if (s.args.length < 2) throw new Error(`invalid ${publicKey.type} recipient block`)
        if (s.args[1] === fingerprint) {
          throw new Error(`failed to decrypt SSH key file: ${goQuote(file)} is passphrase-protected, which tsops does not support yet (use an unencrypted copy or an age key)`)
        }
      }
      return null
    },
  }
}

// ---- private keys (ssh.ParseRawPrivateKey) --------------------------------------------------

export type ParsedSshKey = { key: SshPrivateKey } | { passphraseMissing: true; publicKey?: SshPublicKey } | { error: string }

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([^]*?)-----END \1-----/

/** The private key in `pem`, or Go's reason (`ssh: no key found`, `unsupported SSH identity type: …`). */
export function parseSshPrivateKey(pem: string): ParsedSshKey {
  const block = PEM.exec(pem)
  if (!block) return { error: 'ssh: no key found' }
  const [, type, body] = block
  if (/^Proc-Type:.*ENCRYPTED/m.test(body!)) return { passphraseMissing: true }
  switch (type) {
    case 'OPENSSH PRIVATE KEY':
      return parseOpenSsh(Buffer.from(body!.replace(/\s+/g, ''), 'base64'))
    case 'RSA PRIVATE KEY':
    case 'PRIVATE KEY':
      return fromKeyObject(block[0])
    case 'EC PRIVATE KEY':
      return { error: 'unsupported SSH identity type: *ecdsa.PrivateKey' }
    case 'DSA PRIVATE KEY':
      return { error: 'unsupported SSH identity type: *dsa.PrivateKey' }
    default:
      return { error: `ssh: unsupported key type ${goQuote(type!)}` }
  }
}

function fromKeyObject(pem: string): ParsedSshKey {
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch (e) {
    return { error: `ssh: ${e instanceof Error ? e.message : String(e)}` }
  }
  const jwk = key.export({ format: 'jwk' })
  if (key.asymmetricKeyType === 'rsa') {
    const wire = Buffer.concat([wireString('ssh-rsa'), wireString(mpint(jwk.e!)), wireString(mpint(jwk.n!))])
    return { key: { type: 'ssh-rsa', key, wire } }
  }
  if (key.asymmetricKeyType === 'ed25519') return { key: { type: 'ssh-ed25519', seed: Buffer.from(jwk.d!, 'base64url'), publicKey: Buffer.from(jwk.x!, 'base64url') } }
  return { error: `unsupported SSH identity type: ${key.asymmetricKeyType === 'ec' ? '*ecdsa.PrivateKey' : key.asymmetricKeyType}` }
}

/** A JWK integer as an SSH mpint (a leading zero byte when the top bit is set). */
function mpint(b64url: string): Buffer {
  const b = Buffer.from(b64url, 'base64url')
  return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b
}

const OPENSSH_MAGIC = 'openssh-key-v1\0'

function parseOpenSsh(data: Buffer): ParsedSshKey {
  if (data.subarray(0, OPENSSH_MAGIC.length).toString('latin1') !== OPENSSH_MAGIC) return { error: 'ssh: invalid openssh private key format' }
  try {
    const w = new Wire(data.subarray(OPENSSH_MAGIC.length))
    const cipher = w.text()
    w.text() // kdf name
    w.bytes() // kdf options
    if (w.u32() !== 1) return { error: 'ssh: multi-key files are not supported' }
    const publicWire = w.bytes()
    if (cipher !== 'none') {
      const publicKey = parseSshPublicWire(publicWire)
      return 'error' in publicKey ? { passphraseMissing: true } : { passphraseMissing: true, publicKey }
    }
    const priv = new Wire(w.bytes())
    if (priv.u32() !== priv.u32()) return { error: 'ssh: malformed OpenSSH key' }
    const keyType = priv.text()
    if (keyType === 'ssh-ed25519') {
      const publicKey = priv.bytes()
      const secret = priv.bytes()
      if (publicKey.length !== 32 || secret.length !== 64) return { error: 'ssh: malformed OpenSSH key' }
      return { key: { type: 'ssh-ed25519', seed: Buffer.from(secret.subarray(0, 32)), publicKey: Buffer.from(publicKey) } }
    }
    if (keyType === 'ssh-rsa') return { key: openSshRsa(priv) }
    if (keyType.startsWith('ecdsa-sha2-')) return { error: 'unsupported SSH identity type: *ecdsa.PrivateKey' }
    return { error: `ssh: unhandled key type` }
  } catch (e) {
    if (e instanceof WireError) return { error: 'ssh: malformed OpenSSH key' }
    throw e
  }
}

function openSshRsa(priv: Wire): SshPrivateKey {
  const [n, e, d, iqmp, p, q] = [priv.bytes(), priv.bytes(), priv.bytes(), priv.bytes(), priv.bytes(), priv.bytes()]
  const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`)
  const hex = (v: bigint) => {
    const h = v.toString(16)
    return Buffer.from(h.length % 2 ? `0${h}` : h, 'hex')
  }
  const [bd, bp, bq] = [big(d), big(p), big(q)]
  const key = createPrivateKey({
    key: { kty: 'RSA', n: jwkInt(n), e: jwkInt(e), d: jwkInt(d), p: jwkInt(p), q: jwkInt(q), dp: jwkInt(hex(bd % (bp - 1n))), dq: jwkInt(hex(bd % (bq - 1n))), qi: jwkInt(iqmp) },
    format: 'jwk',
  })
  return { type: 'ssh-rsa', key, wire: Buffer.concat([wireString('ssh-rsa'), wireString(e), wireString(n)]) }
}
