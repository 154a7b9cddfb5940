/**
 * Shamir secret sharing exactly as sops does it (spec §7, sops's fork of Vault's `shamir`).
 *
 * Field: GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1 (0x11B); addition is XOR.
 * Share layout: `[y_0 … y_{n-1}, x]`, x in the LAST byte, x = group index + 1 (1..parts, in order).
 *
 * Why not the `shamir-secret-sharing` package's split: it picks shuffled random x coordinates, so
 * its shares would not match what sops writes (x = 1..n in group order). Its table-driven
 * arithmetic is also not constant time. The combine side is layout-compatible (checked in the
 * tests), but a constant-time combine is a few lines more, so both live here.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto'

/** Constant-time multiply in GF(2^8) mod 0x11B (shift-and-add; no secret-dependent branches). */
export function gfMul(a: number, b: number): number {
  let r = 0
  let x = a & 0xff
  let y = b & 0xff
  for (let i = 0; i < 8; i++) {
    r ^= -(y & 1) & x // add x when the low bit of y is set
    const carry = -((x >> 7) & 1) // all ones when x overflows
    x = ((x << 1) ^ (carry & 0x1b)) & 0xff
    y >>= 1
  }
  return r & 0xff
}

/** a^-1 = a^254 (and 0 -> 0): a fixed square-and-multiply chain, 254 = 2+4+8+16+32+64+128. */
export function gfInv(a: number): number {
  let result = 1
  let power = gfMul(a, a) // a^2
  for (let i = 1; i < 8; i++) {
    result = gfMul(result, power)
    power = gfMul(power, power)
  }
  return result
}

function gfDiv(a: number, b: number): number {
  if (b === 0) throw new Error('divide by zero') // only reachable with duplicate x, checked earlier
  return gfMul(a, gfInv(b))
}

export type RandomSource = (n: number) => Uint8Array

/**
 * Split `secret` into `parts` shares, any `threshold` of which recover it.
 * `random` is injectable for the deterministic test vector; production uses node:crypto.
 */
export function split(
  secret: Uint8Array,
  parts: number,
  threshold: number,
  random: RandomSource = (n) => new Uint8Array(nodeRandomBytes(n)),
): Uint8Array[] {
  // Same checks and wording as sops/Vault shamir.Split.
  if (!Number.isInteger(parts) || !Number.isInteger(threshold)) throw new Error('parts and threshold must be integers')
  if (parts < threshold) throw new Error('parts cannot be less than threshold')
  if (parts > 255) throw new Error('parts cannot exceed 255')
  if (threshold < 2) throw new Error('threshold must be at least 2')
  if (threshold > 255) throw new Error('threshold cannot exceed 255')
  if (secret.length === 0) throw new Error('cannot split an empty secret')

  const shares = Array.from({ length: parts }, (_, i) => {
    const share = new Uint8Array(secret.length + 1)
    share[secret.length] = i + 1
    return share
  })
  const coefficients = new Uint8Array(threshold)
  for (let byte = 0; byte < secret.length; byte++) {
    coefficients[0] = secret[byte]!
    const randomCoefficients = random(threshold - 1)
    coefficients.set(randomCoefficients, 1)
    randomCoefficients.fill(0)
    for (let i = 0; i < parts; i++) shares[i]![byte] = evaluate(coefficients, i + 1)
  }
  coefficients.fill(0)
  return shares
}

/** Horner evaluation of the polynomial at x. */
function evaluate(coefficients: Uint8Array, x: number): number {
  let result = coefficients[coefficients.length - 1]!
  for (let i = coefficients.length - 2; i >= 0; i--) result = gfMul(result, x) ^ coefficients[i]!
  return result
}

/** Recover the secret from two or more shares (extra shares beyond the threshold are fine). */
export function combine(shares: readonly Uint8Array[]): Uint8Array {
  if (shares.length < 2) throw new Error('less than two parts cannot be used to reconstruct the secret')
  const length = shares[0]!.length
  if (length < 2) throw new Error('parts must be at least two bytes')
  if (shares.some((s) => s.length !== length)) throw new Error('all parts must be the same length')

  const xs = shares.map((s) => s[length - 1]!)
  if (new Set(xs).size !== xs.length) throw new Error('duplicate part detected')

  // Lagrange basis polynomials evaluated at 0 depend only on the x coordinates: compute once.
  const basis = xs.map((xi, i) => {
    let b = 1
    xs.forEach((xj, j) => {
      if (i !== j) b = gfMul(b, gfDiv(xj, xi ^ xj)) // (0 - xj) / (xi - xj); minus is XOR
    })
    return b
  })
  const secret = new Uint8Array(length - 1)
  for (let byte = 0; byte < secret.length; byte++) {
    let value = 0
    for (let i = 0; i < shares.length; i++) value ^= gfMul(shares[i]![byte]!, basis[i]!)
    secret[byte] = value
  }
  return secret
}
