/**
 * SSH key formats as golang.org/x/crypto/ssh reads them, for age's SSH recipients and identities
 * (age-ssh.ts): the wire form of public keys, authorized_keys lines (ssh.ParseAuthorizedKey) and
 * private keys (ssh.ParseRawPrivateKey[WithPassphrase]: OpenSSH, PKCS#1 and PKCS#8 PEM), with
 * Go's error texts, which sops prints.
 */
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { b64NoPad } from './age-x25519.js'
import { bcryptPbkdf } from './bcrypt-pbkdf.js'
import { goBase64Decode, goQuote } from './go-text.js'

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

export function wireString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'latin1') : b
  const len = Buffer.alloc(4)
  len.writeUInt32BE(body.length)
  return Buffer.concat([len, body])
}

/** An mpint's magnitude (leading zero bytes dropped), base64url for a JWK. */
export function jwkInt(b: Buffer): string {
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


export type SshPrivateKey = { type: 'ssh-ed25519'; seed: Buffer; publicKey: Buffer } | { type: 'ssh-rsa'; key: KeyObject; wire: Buffer }

// ---- private keys (ssh.ParseRawPrivateKey) --------------------------------------------------

export type ParsedSshKey = { key: SshPrivateKey } | { passphraseMissing: true; publicKey?: SshPublicKey } | { error: string }

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([^]*?)-----END \1-----/
const WRONG_PASSPHRASE = 'x509: decryption password incorrect'

/**
 * The private key in `pem` (decrypted with `passphrase` when it is encrypted and one is given),
 * or Go's reason (`ssh: no key found`, `unsupported SSH identity type: …`).
 */
export function parseSshPrivateKey(pem: string, passphrase?: Buffer): ParsedSshKey {
  const block = PEM.exec(pem)
  if (!block) return { error: 'ssh: no key found' }
  const [, type, body] = block
  if (/^Proc-Type:.*ENCRYPTED/m.test(body!) && passphrase === undefined) return { passphraseMissing: true }
  switch (type) {
    case 'OPENSSH PRIVATE KEY':
      return parseOpenSsh(Buffer.from(body!.replace(/\s+/g, ''), 'base64'), passphrase)
    case 'RSA PRIVATE KEY':
    case 'PRIVATE KEY':
      return fromKeyObject(block[0], passphrase)
    case 'EC PRIVATE KEY':
      return { error: 'unsupported SSH identity type: *ecdsa.PrivateKey' }
    case 'DSA PRIVATE KEY':
      return { error: 'unsupported SSH identity type: *dsa.PrivateKey' }
    default:
      return { error: `ssh: unsupported key type ${goQuote(type!)}` }
  }
}

/** The wire form of a private key's public half (what its fingerprint hashes). */
export function sshPrivateKeyWire(key: SshPrivateKey): Buffer {
  return key.type === 'ssh-rsa' ? key.wire : Buffer.concat([wireString('ssh-ed25519'), wireString(key.publicKey)])
}

function fromKeyObject(pem: string, passphrase?: Buffer): ParsedSshKey {
  let key: KeyObject
  try {
    key = createPrivateKey(passphrase === undefined ? pem : { key: pem, format: 'pem', passphrase })
  } catch (e) {
    return { error: passphrase === undefined ? `ssh: ${e instanceof Error ? e.message : String(e)}` : WRONG_PASSPHRASE }
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
/** The ciphers golang.org/x/crypto/ssh opens an encrypted OpenSSH key with (ssh-keygen's default is the first). */
const OPENSSH_CIPHERS: Record<string, string> = { 'aes256-ctr': 'aes-256-ctr', 'aes256-cbc': 'aes-256-cbc' }

function parseOpenSsh(data: Buffer, passphrase?: Buffer): ParsedSshKey {
  if (data.subarray(0, OPENSSH_MAGIC.length).toString('latin1') !== OPENSSH_MAGIC) return { error: 'ssh: invalid openssh private key format' }
  try {
    const w = new Wire(data.subarray(OPENSSH_MAGIC.length))
    const cipher = w.text()
    const kdf = w.text()
    const kdfOptions = w.bytes()
    if (w.u32() !== 1) return { error: 'ssh: multi-key files are not supported' }
    const publicWire = w.bytes()
    let privateSection = w.bytes()
    if (cipher !== 'none') {
      if (passphrase === undefined) {
        const publicKey = parseSshPublicWire(publicWire)
        return 'error' in publicKey ? { passphraseMissing: true } : { passphraseMissing: true, publicKey }
      }
      const opened = decryptOpenSsh(cipher, kdf, kdfOptions, privateSection, passphrase)
      if ('error' in opened) return opened
      privateSection = opened.plain
    }
    const priv = new Wire(privateSection)
    // Two equal check integers open the private section: unequal means a wrong passphrase.
    const check1 = priv.u32()
    const check2 = priv.u32()
    if (check1 !== check2) return { error: passphrase === undefined ? 'ssh: malformed OpenSSH key' : WRONG_PASSPHRASE }
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

/** The private section of an encrypted OpenSSH key: bcrypt_pbkdf gives the AES key and IV. */
function decryptOpenSsh(cipher: string, kdf: string, kdfOptions: Buffer, sealed: Buffer, passphrase: Buffer): { plain: Buffer } | { error: string } {
  if (kdf !== 'bcrypt') return { error: `ssh: unknown KDF ${goQuote(kdf)}, only supports "bcrypt"` }
  const algorithm = OPENSSH_CIPHERS[cipher]
  if (!algorithm) return { error: `ssh: unknown cipher ${goQuote(cipher)}, only supports "aes256-ctr" or "aes256-cbc"` }
  const options = new Wire(kdfOptions)
  const salt = options.bytes()
  const rounds = options.u32()
  let keyAndIv: Buffer
  try {
    keyAndIv = bcryptPbkdf(passphrase, salt, 32 + 16, rounds)
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) }
  }
  if (sealed.length % 16 !== 0) return { error: 'ssh: malformed OpenSSH key' }
  const decipher = createDecipheriv(algorithm, keyAndIv.subarray(0, 32), keyAndIv.subarray(32))
  decipher.setAutoPadding(false)
  return { plain: Buffer.concat([decipher.update(sealed), decipher.final()]) }
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
