/**
 * bcrypt_pbkdf (OpenBSD; what OpenSSH uses to turn a passphrase into the key that encrypts a
 * private key file), over the Blowfish cipher it is built on. node:crypto has neither (OpenSSL 3
 * keeps Blowfish in its legacy provider, and bcrypt needs Blowfish's key schedule itself), so
 * both are here, following OpenBSD's bcrypt_pbkdf.c and blowfish.c.
 *
 * Blowfish's initial state is the fractional part of pi in hex (that is its definition):
 * computed once, on first use, with Machin's formula, instead of 4 KiB of constants.
 */
import { createHash } from 'node:crypto'

const P_WORDS = 18
const S_WORDS = 4 * 256

let initial: Uint32Array | undefined

/** The first 18 + 1024 32-bit words of pi's fractional part in hex: Blowfish's P-array and S-boxes. */
function piWords(): Uint32Array {
  if (initial) return initial
  const words = P_WORDS + S_WORDS
  const guard = 64n
  const scale = 1n << (BigInt(words * 32) + guard)
  const atanInv = (x: bigint): bigint => {
    let term = scale / x
    let sum = term
    const x2 = x * x
    for (let k = 1n; term !== 0n; k++) {
      term /= x2
      sum += (k % 2n === 1n ? -term : term) / (2n * k + 1n)
    }
    return sum
  }
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n)
  const fraction = (pi - 3n * scale) >> guard
  const hex = fraction.toString(16).padStart(words * 8, '0')
  initial = new Uint32Array(words)
  for (let i = 0; i < words; i++) initial[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16)
  return initial
}

class Blowfish {
  readonly p: Uint32Array
  readonly s: Uint32Array
  // The four S-boxes as views of `s`: the round function indexes them directly (hot loop).
  private readonly s0: Uint32Array
  private readonly s1: Uint32Array
  private readonly s2: Uint32Array
  private readonly s3: Uint32Array

  constructor() {
    const words = piWords()
    this.p = words.slice(0, P_WORDS)
    this.s = words.slice(P_WORDS)
    ;[this.s0, this.s1, this.s2, this.s3] = [0, 1, 2, 3].map((i) => this.s.subarray(i * 256, i * 256 + 256)) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array]
  }

  /**
   * Blowfish_encipher on the pair in `block` (in place). F is inlined; the 32-bit sums wrap
   * through `^` (ToInt32) and the final store into the Uint32Array.
   */
  encipher(block: Uint32Array, at = 0): void {
    const { p, s0, s1, s2, s3 } = this
    let l = block[at]! ^ p[0]!
    let r = block[at + 1]!
    for (let i = 1; i <= 16; i += 2) {
      r ^= (((s0[l >>> 24]! + s1[(l >>> 16) & 0xff]!) ^ s2[(l >>> 8) & 0xff]!) + s3[l & 0xff]!) ^ p[i]!
      l ^= (((s0[r >>> 24]! + s1[(r >>> 16) & 0xff]!) ^ s2[(r >>> 8) & 0xff]!) + s3[r & 0xff]!) ^ p[i + 1]!
    }
    block[at] = r ^ p[17]!
    block[at + 1] = l
  }

  /** Blowfish_expandstate (`data` given) or Blowfish_expand0state (`data` undefined). */
  expand(key: Uint8Array, data?: Uint8Array): void {
    const keyStream = new WordStream(key)
    for (let i = 0; i < P_WORDS; i++) this.p[i] = (this.p[i]! ^ keyStream.next()) >>> 0
    const dataStream = data ? new WordStream(data) : undefined
    const block = new Uint32Array(2)
    const fill = (target: Uint32Array, length: number) => {
      for (let i = 0; i < length; i += 2) {
        if (dataStream) {
          block[0] = (block[0]! ^ dataStream.next()) >>> 0
          block[1] = (block[1]! ^ dataStream.next()) >>> 0
        }
        this.encipher(block)
        target[i] = block[0]!
        target[i + 1] = block[1]!
      }
    }
    fill(this.p, P_WORDS)
    fill(this.s, S_WORDS)
  }
}

/** Blowfish_stream2word: big-endian words from `bytes`, wrapping around. */
class WordStream {
  private pos = 0
  constructor(private readonly bytes: Uint8Array) {}
  next(): number {
    let word = 0
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.bytes.length) this.pos = 0
      word = ((word << 8) | this.bytes[this.pos++]!) >>> 0
    }
    return word
  }
}

const MAGIC = Buffer.from('OxychromaticBlowfishSwatDynamite')

/** bcrypt_hash: 32 bytes from the SHA-512 of the passphrase and of the salt. */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array): Buffer {
  const state = new Blowfish()
  state.expand(sha2pass, sha2salt)
  for (let i = 0; i < 64; i++) {
    state.expand(sha2salt)
    state.expand(sha2pass)
  }
  const stream = new WordStream(MAGIC)
  const cdata = Uint32Array.from({ length: 8 }, () => stream.next())
  for (let i = 0; i < 64; i++) for (let b = 0; b < 8; b += 2) state.encipher(cdata, b)
  const out = Buffer.alloc(32)
  for (let i = 0; i < 8; i++) out.writeUInt32LE(cdata[i]!, 4 * i)
  return out
}

/** bcrypt_pbkdf(pass, salt, keylen, rounds); throws on the inputs OpenBSD refuses. */
export function bcryptPbkdf(pass: Uint8Array, salt: Uint8Array, keyLength: number, rounds: number): Buffer {
  if (rounds < 1 || pass.length === 0 || salt.length === 0 || keyLength === 0 || keyLength > 32 * 32 || salt.length > 1 << 20) {
    throw new Error('bcrypt_pbkdf: invalid parameters')
  }
  const key = Buffer.alloc(keyLength)
  const stride = Math.ceil(keyLength / 32)
  let amount = Math.ceil(keyLength / stride)
  const sha2pass = createHash('sha512').update(pass).digest()
  let remaining = keyLength
  for (let count = 1; remaining > 0; count++) {
    const countSalt = Buffer.alloc(4)
    countSalt.writeUInt32BE(count)
    let tmp = bcryptHash(sha2pass, createHash('sha512').update(salt).update(countSalt).digest())
    const out = Buffer.from(tmp)
    for (let r = 1; r < rounds; r++) {
      tmp = bcryptHash(sha2pass, createHash('sha512').update(tmp).digest())
      for (let j = 0; j < out.length; j++) out[j]! ^= tmp[j]!
    }
    amount = Math.min(amount, remaining)
    let i = 0
    for (; i < amount; i++) {
      const dest = i * stride + (count - 1)
      if (dest >= keyLength) break
      key[dest] = out[i]!
    }
    remaining -= i
  }
  return key
}
