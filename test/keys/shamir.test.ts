import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as pkg from 'shamir-secret-sharing'
import { combine, gfInv, gfMul, split } from '../../src/keys/shamir.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))

/** An independent reference multiply (Russian-peasant with a branchy reduction), for cross-checks. */
function refMul(a: number, b: number): number {
  let p = 0
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a
    const hi = a & 0x80
    a = (a << 1) & 0xff
    if (hi) a ^= 0x1b
    b >>= 1
  }
  return p
}

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i)
// Spec §7: secret 00..1f, 3 parts, threshold 2, every random coefficient byte 0xAA.
const VECTOR = [
  'aaaba8a9aeafacada2a3a0a1a6a7a4a5babbb8b9bebfbcbdb2b3b0b1b6b7b4b501',
  '4f4e4d4c4b4a494847464544434241405f5e5d5c5b5a5958575655545352515002',
  'e5e4e7e6e1e0e3e2edecefeee9e8ebeaf5f4f7f6f1f0f3f2fdfcfffef9f8fbfa03',
]
const allAA = (n: number) => new Uint8Array(n).fill(0xaa)

describe('GF(2^8) arithmetic (AES field, 0x11B)', () => {
  it('matches the FIPS-197 known answers', () => {
    expect(gfMul(0x57, 0x83)).toBe(0xc1)
    expect(gfMul(0x53, 0xca)).toBe(0x01)
    expect(gfInv(0x53)).toBe(0xca)
  })

  it('agrees with a reference multiply on the whole table, and a * a^-1 = 1', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) expect(gfMul(a, b)).toBe(refMul(a, b))
      if (a !== 0) expect(gfMul(a, gfInv(a))).toBe(1)
    }
    expect(gfInv(0)).toBe(0)
  })
})

describe('split', () => {
  it('reproduces the deterministic vector of spec §7', () => {
    const shares = split(SECRET, 3, 2, allAA)
    expect(shares.map(hex)).toEqual(VECTOR)
  })

  it('matches a reference evaluation: share_x = s xor 0xAA*x, x in the last byte (1..n in order)', () => {
    const shares = split(SECRET, 5, 2, allAA)
    shares.forEach((share, i) => {
      const x = i + 1
      expect(share).toHaveLength(33)
      expect(share[32]).toBe(x)
      expect(Array.from(share.subarray(0, 32))).toEqual(Array.from(SECRET, (s) => s ^ refMul(0xaa, x)))
    })
  })

  it('rejects what sops rejects, with its messages', () => {
    expect(() => split(SECRET, 2, 3)).toThrow('parts cannot be less than threshold')
    expect(() => split(SECRET, 256, 2)).toThrow('parts cannot exceed 255')
    expect(() => split(SECRET, 3, 1)).toThrow('threshold must be at least 2')
    expect(() => split(new Uint8Array(0), 3, 2)).toThrow('cannot split an empty secret')
  })
})

describe('combine', () => {
  it('recovers the vector secret from any two of its shares', () => {
    const shares = VECTOR.map(fromHex)
    for (const [a, b] of [[0, 1], [0, 2], [1, 2], [2, 0]] as const) {
      expect(hex(combine([shares[a]!, shares[b]!]))).toBe(hex(SECRET))
    }
    expect(hex(combine(shares))).toBe(hex(SECRET)) // extra parts beyond the threshold are fine
  })

  it('rejects what sops rejects, with its messages', () => {
    const [a, b] = VECTOR.map(fromHex) as [Uint8Array, Uint8Array]
    expect(() => combine([a])).toThrow(/^less than two parts/)
    expect(() => combine([a, a])).toThrow('duplicate part detected')
    expect(() => combine([a, b.subarray(1)])).toThrow('all parts must be the same length')
    expect(() => combine([new Uint8Array(1), new Uint8Array(1)])).toThrow('parts must be at least two bytes')
  })

  it('property: any threshold-sized (or larger) subset of an n-way split recovers the secret', () => {
    const arb = fc
      .record({
        secret: fc.uint8Array({ minLength: 1, maxLength: 48 }),
        n: fc.integer({ min: 2, max: 12 }),
        seed: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
      })
      .chain(({ secret, n, seed }) =>
        fc.integer({ min: 2, max: n }).chain((t) =>
          fc.integer({ min: t, max: n }).map((k) => ({ secret, n, t, k, seed })),
        ),
      )
    fc.assert(
      fc.property(arb, ({ secret, n, t, k, seed }) => {
        const shares = split(secret, n, t)
        // a pseudo-random subset of size k, in shuffled order
        const order = shares.map((s, i) => ({ s, r: seed[i]! })).sort((x, y) => x.r - y.r)
        const subset = order.slice(0, k).map((o) => o.s)
        expect(hex(combine(subset))).toBe(hex(secret))
      }),
      { numRuns: 300 },
    )
  })

  it('is layout-compatible with the shamir-secret-sharing package both ways', async () => {
    const secret = fromHex('8c68886c50b5b72965a3cb99c5172e1d74a8aca27b39ee880b535d6907e59f68')
    const ours = split(secret, 3, 2)
    expect(hex(await pkg.combine([ours[0]!, ours[2]!]))).toBe(hex(secret))
    const theirs = await pkg.split(secret, 4, 3)
    expect(hex(combine(theirs.slice(1)))).toBe(hex(secret))
  })
})
