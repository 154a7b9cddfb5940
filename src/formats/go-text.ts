/**
 * Go's text rules that sops's stores inherit, shared by the JSON and INI readers: how Go turns
 * bytes into runes (every byte of an ill-formed sequence is one U+FFFD), how encoding/json and
 * strconv.Quote show a character in a message, and the strings package's idea of white space.
 */
import { isUtf8 } from 'node:buffer'

// ---- bytes and UTF-8 -------------------------------------------------------------------------

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Length of the well-formed UTF-8 sequence starting at `i`, or 0 if Go's DecodeRune rejects it. */
function utf8SequenceLength(buf: Uint8Array, i: number, end: number): number {
  const c = buf[i]!
  let size: number
  let lo = 0x80
  let hi = 0xbf
  if (c >= 0xc2 && c <= 0xdf) size = 2
  else if (c >= 0xe0 && c <= 0xef) {
    size = 3
    if (c === 0xe0) lo = 0xa0
    else if (c === 0xed) hi = 0x9f // UTF-16 surrogates are not valid UTF-8
  } else if (c >= 0xf0 && c <= 0xf4) {
    size = 4
    if (c === 0xf0) lo = 0x90
    else if (c === 0xf4) hi = 0x8f
  } else return 0
  if (i + size > end) return 0
  const b1 = buf[i + 1]!
  if (b1 < lo || b1 > hi) return 0
  for (let k = 2; k < size; k++) {
    const b = buf[i + k]!
    if (b < 0x80 || b > 0xbf) return 0
  }
  return size
}

/**
 * Decode bytes as Go converts a byte string to runes: every byte of an ill-formed sequence
 * becomes one `replacement` (WHATWG's TextDecoder would merge some of them). Valid runs are
 * decoded natively, so this is only slow on the invalid bytes themselves.
 */
export function decodeUtf8Go(bytes: Uint8Array, replacement = '\ufffd', start = 0, end = bytes.length): string {
  const buf = asBuffer(bytes)
  if (isUtf8(buf.subarray(start, end))) return buf.toString('utf8', start, end)
  const parts: string[] = []
  let run = start
  let i = start
  while (i < end) {
    if (buf[i]! < 0x80) {
      i++
      continue
    }
    const size = utf8SequenceLength(buf, i, end)
    if (size > 0) {
      i += size
      continue
    }
    parts.push(buf.toString('utf8', run, i), replacement)
    i++
    run = i
  }
  parts.push(buf.toString('utf8', run, end))
  return parts.join('')
}

// ---- Go-style message pieces -----------------------------------------------------------------

/** encoding/json's quoteChar: how a byte is shown in "invalid character …" messages. */
export function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`
  if (c === 0x22) return `'"'`
  return `'${goQuoteRune(c)}'`
}

const GO_SHORT_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' }

/** strconv.Quote's escaping of one code point (Latin-1 range is all a byte can show). */
function goQuoteRune(c: number): string {
  const short = GO_SHORT_ESCAPES[c]
  if (short !== undefined) return short
  if (c < 0x20 || c === 0x7f) return `\\x${c.toString(16).padStart(2, '0')}`
  if ((c >= 0x80 && c < 0xa1) || c === 0xad) return `\\u${c.toString(16).padStart(4, '0')}`
  return String.fromCodePoint(c)
}

/** strconv.Quote (approximately: non-printable non-ASCII characters are kept as is). */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    out += c === 0x22 ? '\\"' : c < 0x80 ? goQuoteRune(c) : ch
  }
  return out + '"'
}

// ---- the strings package -------------------------------------------------------------------

/** unicode.IsSpace (differs from JS's \s: no U+FEFF, but U+0085). */
const GO_SPACE = '\t\n\v\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000'

export function isGoSpace(ch: string): boolean {
  return GO_SPACE.includes(ch)
}

export function trimLeftSpace(s: string): string {
  let i = 0
  while (i < s.length && isGoSpace(s[i]!)) i++
  return s.slice(i)
}

export function trimSpace(s: string): string {
  let end = s.length
  while (end > 0 && isGoSpace(s[end - 1]!)) end--
  return trimLeftSpace(s.slice(0, end))
}

/** strings.TrimLeft(s, cutset) */
export function trimLeftChars(s: string, cutset: string): string {
  let i = 0
  while (i < s.length && cutset.includes(s[i]!)) i++
  return s.slice(i)
}

export function indexAny(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i
  return -1
}

/** Go's len(): go-ini compares byte lengths (quote detection thresholds, key alignment). */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}
