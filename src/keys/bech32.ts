/**
 * Bech32 (BIP 173) decoding as age's internal/bech32 does it, with its error texts: sops shows
 * them for a malformed recipient or key (`invalid character data part: s[1]=111`). Like age's,
 * it has no length limit (post-quantum keys are long).
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

function polymod(values: readonly number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ v
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!
  }
  return chk
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0))
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)]
}

export type Bech32Result = { ok: true; hrp: string; data: Buffer } | { ok: false; error: string }

/** `Decode(s)`: the HRP keeps the input's case (age compares it to "AGE-SECRET-KEY-" or "age"). */
export function bech32Decode(s: string): Bech32Result {
  const fail = (error: string): Bech32Result => ({ ok: false, error })
  if (s.toLowerCase() !== s && s.toUpperCase() !== s) return fail('mixed case')
  const pos = s.lastIndexOf('1')
  const bytes = Buffer.from(s, 'utf8')
  // Go measures in bytes; the separator search is the same for the ASCII these strings hold.
  const bytePos = pos < 0 ? -1 : Buffer.byteLength(s.slice(0, pos))
  if (bytePos < 1 || bytePos + 7 > bytes.length) return fail(`separator '1' at invalid position: pos=${bytePos}, len=${bytes.length}`)
  const hrp = s.slice(0, pos)
  let offset = 0
  for (const c of hrp) {
    const code = c.codePointAt(0)!
    if (code < 33 || code > 126) return fail(`invalid character human-readable part: s[${offset}]=${code}`)
    offset += Buffer.byteLength(c)
  }
  const values: number[] = []
  offset = 0
  for (const c of s.slice(pos + 1).toLowerCase()) {
    const d = CHARSET.indexOf(c)
    if (d === -1 || c.length !== 1) return fail(`invalid character data part: s[${offset}]=${c.codePointAt(0)!}`)
    values.push(d)
    offset += Buffer.byteLength(c)
  }
  if (polymod([...hrpExpand(hrp.toLowerCase()), ...values]) !== 1) return fail('invalid checksum')
  const converted = fromWords(values.slice(0, -6))
  return typeof converted === 'string' ? fail(converted) : { ok: true, hrp, data: converted }
}

/** convertBits(data, 5, 8, false): bytes, or age's error text. */
function fromWords(words: readonly number[]): Buffer | string {
  let acc = 0
  let bits = 0
  const out: number[] = []
  for (const w of words) {
    acc = ((acc << 5) | w) & 0xffffff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >>> bits) & 0xff)
    }
  }
  if (bits >= 5) return 'illegal zero padding'
  if (((acc << (8 - bits)) & 0xff) !== 0) return 'non-zero padding'
  return Buffer.from(out)
}
