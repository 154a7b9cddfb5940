/**
 * The JSON store's writer: `encodeTree` + `json.Indent` — Go's `json.Marshal` string escaping
 * (HTML-safe, `\b`/`\f` since Go 1.22, invalid UTF-8 as `\ufffd`), `": "` after keys, `{}`/`[]`
 * when empty, comments skipped. An explicit stack instead of recursion.
 */
import { EmitError } from '../core/errors.js'
import { formatFloatG, formatFloatJSON } from '../core/gofmt.js'
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type MapItem, type Scalar, type SeqItem, type Value } from '../core/tree.js'
import type { EmitOptions } from './format.js'
import { decodeUtf8Go } from './go-text.js'

/** Characters json.Marshal does not write verbatim (lone surrogates stand for invalid UTF-8). */
const NEEDS_ESCAPE = /["\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]/
/**
 * Anything but printable ASCII that needs no escape. V8 runs this all-ASCII class ~7x faster
 * than NEEDS_ESCAPE over a 90 MB one-byte string (a binary file's `ENC[…]`), so test it first.
 */
const NOT_PLAIN_ASCII = /[^\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]/
const HEX = '0123456789abcdef'
const STRING_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x3c: '\\u003c',
  0x3e: '\\u003e',
  0x26: '\\u0026',
  0x2028: '\\u2028',
  0x2029: '\\u2029',
}

/** json.Marshal of a Go string (HTMLEscape on, as sops uses it). */
export function quoteJsonString(s: string): string {
  const out = new TextSink()
  pushQuoted(out, s)
  return out.toString()
}

/**
 * Push the quoted string as parts: an unescaped value is pushed as is, never concatenated,
 * so a 90 MB `ENC[…]` is copied once, into the output buffer.
 */
function pushQuoted(out: TextSink, s: string): void {
  if (!NOT_PLAIN_ASCII.test(s) || !NEEDS_ESCAPE.test(s)) {
    out.push('"', s, '"')
    return
  }
  out.push('"')
  let run = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let escaped = STRING_ESCAPES[c]
    if (escaped === undefined && c < 0x20) escaped = `\\u00${HEX[c >> 4]}${HEX[c & 15]}`
    if (escaped === undefined && c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1)
      if (c < 0xdc00 && next >= 0xdc00 && next <= 0xdfff) {
        i++ // a proper pair: written as is
        continue
      }
      escaped = '\\ufffd' // Go writes invalid UTF-8 as this escape
    }
    if (escaped === undefined) continue
    out.push(s.slice(run, i), escaped)
    run = i + 1
  }
  out.push(s.slice(run), '"')
}

/** A float json.Marshal refuses; carries the Go value text for the message. */
class UnsupportedValue extends Error {}

function pushScalar(out: TextSink, v: Scalar): void {
  if (v === null) out.push('null')
  else if (typeof v === 'string') pushQuoted(out, v)
  else if (typeof v === 'bigint') out.push(v.toString())
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false')
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new UnsupportedValue(formatFloatG(v))
    out.push(formatFloatJSON(v))
  } else if (v instanceof Timestamp) pushQuoted(out, v.text) // time.Time marshals as RFC 3339 text
  else if (v instanceof Literal) pushScalar(out, v.value)
  // A []byte-backed Go string (binary data), not Go's base64 []byte; invalid UTF-8 -> \ufffd
  // via a lone-surrogate marker.
  else pushQuoted(out, decodeUtf8Go(v, '\udfff'))
}

/** Strings at least this long are kept apart from the accumulated text (see TextSink). */
const HUGE_PART = 1 << 20

/**
 * The output text. Small pieces are appended to one string (V8 ropes beat Array.join over
 * millions of pieces); a huge piece (a binary file's `ENC[…]`) is kept apart and written
 * straight into the output buffer, so it is copied only once.
 */
class TextSink {
  private readonly chunks: string[] = []
  private acc = ''

  push(...parts: string[]): void {
    for (const part of parts) {
      if (part.length < HUGE_PART) this.acc += part
      else {
        this.chunks.push(this.acc, part)
        this.acc = ''
      }
    }
  }

  toString(): string {
    return this.chunks.join('') + this.acc
  }

  toUtf8(): Buffer {
    if (this.chunks.length === 0) return Buffer.from(this.acc, 'utf8')
    const chunks = [...this.chunks, this.acc]
    let total = 0
    for (const c of chunks) total += Buffer.byteLength(c, 'utf8')
    const buf = Buffer.allocUnsafe(total)
    let at = 0
    for (const c of chunks) at += buf.write(c, at, 'utf8')
    return at === total ? buf : buf.subarray(0, at)
  }
}

function indentUnit(indent: number | undefined): string {
  if (indent === undefined || indent === -1) return '\t'
  if (indent < -1) throw new EmitError('JSON Indentation parameter smaller than -1 is not accepted')
  return ' '.repeat(indent)
}

interface EmitFrame {
  items: readonly (MapItem | SeqItem)[]
  isMap: boolean
  next: number
  written: number
}

/**
 * encodeValue + json.Indent in one pass, iteratively, into `out` (no final newline). A NaN or
 * infinity fails like Go: encodeTree wraps the error once per enclosing map.
 */
function encodeIndented(value: Value, unit: string, out: TextSink): void {
  const pads = ['']
  const pad = (depth: number): string => (pads[depth] ??= unit.repeat(depth))
  const stack: EmitFrame[] = []
  const open = (v: Value): void => {
    if (v instanceof TreeMap || v instanceof TreeSeq) {
      out.push(v instanceof TreeMap ? '{' : '[')
      stack.push({ items: v.items, isMap: v instanceof TreeMap, next: 0, written: 0 })
      return
    }
    try {
      pushScalar(out, v)
    } catch (e) {
      if (!(e instanceof UnsupportedValue)) throw e
      const wraps = stack.filter((f) => f.isMap).length
      throw new EmitError(`${'Error encoding value : '.repeat(wraps)}json: unsupported value: ${e.message}`)
    }
  }
  open(value)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    const depth = stack.length
    let item = frame.items[frame.next++]
    while (item instanceof Comment) item = frame.items[frame.next++] // JSON has no comments: sops drops them
    if (item === undefined) {
      stack.pop()
      if (frame.written > 0) out.push('\n', pad(depth - 1))
      out.push(frame.isMap ? '}' : ']')
      continue
    }
    out.push(frame.written++ > 0 ? ',\n' : '\n', pad(depth))
    if (frame.isMap) {
      const entry = item as { key: string; value: Value }
      pushQuoted(out, entry.key)
      out.push(': ')
      open(entry.value)
    } else open(item as Value)
  }
}

export function encodeToBytes(value: Value, options: EmitOptions | undefined, trailer: string, errorPrefix: string): Uint8Array {
  const out = new TextSink()
  try {
    encodeIndented(value, indentUnit(options?.indent), out)
  } catch (e) {
    if (e instanceof EmitError) throw new EmitError(errorPrefix + e.message)
    throw e
  }
  out.push(trailer)
  return out.toUtf8()
}
