/**
 * sops's JSON store (spec §5.2, upstream `stores/json/store.go`), byte for byte.
 *
 * Reading follows Go's `json.Decoder.Token()` state machine (that is what sops streams through),
 * so duplicate keys survive in order and error texts match Go's ("invalid character 'x' looking
 * for beginning of value"). Numbers follow sops's `UseNumber` + `normalizeJSONNumber`: integer
 * syntax within int64 is an int (bigint), anything else a float64.
 *
 * Writing reproduces `encodeTree` + `json.Indent`: Go's `json.Marshal` string escaping (HTML-safe,
 * `\b`/`\f` since Go 1.22, invalid UTF-8 as `\ufffd`), `": "` after keys, `{}`/`[]` when empty,
 * comments skipped, the `sops` block as the last key and a trailing newline.
 *
 * Both directions use explicit stacks instead of recursion, so deep input can never overflow the
 * JS stack; nesting is capped at Go's scanner limit (10000), beyond which sops cannot emit anyway.
 */
import { isUtf8 } from 'node:buffer'
import { EmitError, FormatError, GenericError } from '../core/errors.js'
import { formatFloatG, formatFloatJSON, isInt64 } from '../core/gofmt.js'
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type MapItem, type Scalar, type SeqItem, type Value } from '../core/tree.js'
import type { Document, EmitOptions, Format } from './format.js'

/** Go encoding/json's maxNestingDepth: json.Indent (and so sops's emit) refuses anything deeper. */
export const MAX_DEPTH = 10000

/** The reserved top-level key holding the metadata. */
export const SOPS_KEY = 'sops'

/** How sops reports a plaintext parse failure (`encrypt`/`edit`): command prefix + store prefix. */
export const PLAIN_PARSE_PREFIX = 'Error unmarshalling file: Could not unmarshal input data: '
/** How sops reports an encrypted-file parse failure (`decrypt`): only the store prefix. */
export const ENCRYPTED_PARSE_PREFIX = 'Could not unmarshal input data: '

// ---- bytes and UTF-8 -------------------------------------------------------------------------

function asBuffer(bytes: Uint8Array): Buffer {
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
function quoteChar(c: number): string {
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
function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    out += c === 0x22 ? '\\"' : c < 0x80 ? goQuoteRune(c) : ch
  }
  return out + '"'
}

/** `%#v of type %T` of a top-level scalar, for sops's "not other JSON types" message. */
function describeGoValue(v: Scalar, numberText: string | undefined): string {
  if (numberText !== undefined) return `${goQuote(numberText)} of type json.Number`
  if (v === null) return '<nil> of type <nil>'
  if (typeof v === 'string') return `${goQuote(v)} of type string`
  if (typeof v === 'bigint') return `${v} of type int`
  if (typeof v === 'number') return `${formatFloatG(v)} of type float64`
  return `${String(v)} of type bool`
}

// ---- reading ---------------------------------------------------------------------------------

/** Go's Decoder.Token states; each names what may come next. */
type TokenState =
  | 'top'
  | 'arrayStart'
  | 'arrayValue'
  | 'arrayComma'
  | 'objectStart'
  | 'objectKey'
  | 'objectColon'
  | 'objectValue'
  | 'objectComma'

/** Decoder.tokenError's context per state (Go has none for objectStart: `{,` gives just "invalid character ','"). */
const TOKEN_CONTEXT: Record<TokenState, string> = {
  top: ' looking for beginning of value',
  arrayStart: ' looking for beginning of value',
  arrayValue: ' looking for beginning of value',
  objectValue: ' looking for beginning of value',
  arrayComma: ' after array element',
  objectStart: '',
  objectKey: ' looking for beginning of object key string',
  objectColon: ' after object key',
  objectComma: ' after object key:value pair',
}

function valueAllowed(state: TokenState): boolean {
  return state === 'top' || state === 'arrayStart' || state === 'arrayValue' || state === 'objectValue'
}

interface Frame {
  node: TreeMap | TreeSeq
  /** The key read for the value that comes next (maps only). */
  key: string
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d])
const ESCAPES: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' }
const CONTROL = /[\x00-\x1f]/
/** Integers with more digits than this can never fit int64; skip BigInt on them. */
const MAX_INT64_DIGITS = 19

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

class JsonReader {
  private pos = 0

  constructor(
    private readonly buf: Buffer,
    private readonly prefix: string,
  ) {}

  /** The top-level object; anything after its closing brace is ignored, as sops does. */
  readDocument(): TreeMap {
    const c = this.peekNonSpace()
    if (c < 0) throw new FormatError(this.prefix + 'EOF')
    if (c === 0x7b) {
      this.pos++
      return this.readObjectBody()
    }
    const at = this.pos
    if (c === 0x5b) {
      this.fail(
        "SOPS only supports JSON files with a top-level object (starting with '{'), not arrays or other types. Got delimiter [ instead. To encrypt this file, wrap it in an object, e.g., {\"data\": [...]}",
        at,
      )
    }
    const { value, numberText } = this.readTopScalar(c)
    this.fail(
      `SOPS only supports JSON files with a top-level object (starting with '{'), not other JSON types. Got ${describeGoValue(value, numberText)} instead`,
      at,
    )
  }

  private readTopScalar(c: number): { value: Scalar; numberText?: string } {
    if (c === 0x2d || isDigit(c)) {
      const { text, isInt } = this.readNumberText()
      const value = numberValue(text, isInt)
      return value === undefined ? { value: null, numberText: text } : { value }
    }
    return { value: this.readScalar(c) }
  }

  /** Go's Token() loop over an object whose `{` was consumed, with an explicit stack. */
  private readObjectBody(): TreeMap {
    const root = new TreeMap()
    const stack: Frame[] = [{ node: root, key: '' }]
    let state: TokenState = 'objectStart'
    for (;;) {
      const c = this.peekNonSpace()
      if (c < 0) this.failEof()
      const top = stack[stack.length - 1]!
      if (c === 0x7b || c === 0x5b) {
        if (!valueAllowed(state)) this.tokenError(c, state)
        if (stack.length >= MAX_DEPTH) this.fail(`exceeded max nesting depth of ${MAX_DEPTH}`, this.pos)
        this.pos++
        const node = c === 0x7b ? new TreeMap() : new TreeSeq()
        attach(top, node)
        stack.push({ node, key: '' })
        state = c === 0x7b ? 'objectStart' : 'arrayStart'
      } else if (c === 0x7d || c === 0x5d) {
        const open = c === 0x7d ? state === 'objectStart' || state === 'objectComma' : state === 'arrayStart' || state === 'arrayComma'
        if (!open) this.tokenError(c, state)
        this.pos++
        stack.pop()
        const parent = stack[stack.length - 1]
        if (parent === undefined) return root
        state = afterValue(parent)
      } else if (c === 0x3a) {
        if (state !== 'objectColon') this.tokenError(c, state)
        this.pos++
        state = 'objectValue'
      } else if (c === 0x2c) {
        if (state === 'arrayComma') state = 'arrayValue'
        else if (state === 'objectComma') state = 'objectKey'
        else this.tokenError(c, state)
        this.pos++
      } else if (c === 0x22 && (state === 'objectStart' || state === 'objectKey')) {
        top.key = this.readString()
        state = 'objectColon'
      } else {
        if (!valueAllowed(state)) this.tokenError(c, state)
        attach(top, this.readScalar(c))
        state = afterValue(top)
      }
    }
  }

  private readScalar(c: number): Scalar {
    if (c === 0x22) return this.readString()
    if (c === 0x2d || isDigit(c)) {
      const start = this.pos
      const { text, isInt } = this.readNumberText()
      const value = numberValue(text, isInt)
      if (value === undefined) this.fail(`strconv.ParseFloat: parsing ${goQuote(text)}: value out of range`, start)
      return value
    }
    if (c === 0x74) return this.readLiteral('true', true)
    if (c === 0x66) return this.readLiteral('false', false)
    if (c === 0x6e) return this.readLiteral('null', null)
    this.fail(`invalid character ${quoteChar(c)} looking for beginning of value`, this.pos)
  }

  private readLiteral<T extends Scalar>(word: string, value: T): T {
    for (let k = 0; k < word.length; k++) {
      const b = this.byteAt(this.pos)
      if (b < 0) this.failEof()
      const want = word.charCodeAt(k)
      if (b !== want) this.fail(`invalid character ${quoteChar(b)} in literal ${word} (expecting ${quoteChar(want)})`, this.pos)
      this.pos++
    }
    return value
  }

  /** The number grammar of Go's scanner; returns the text and whether it has integer syntax. */
  private readNumberText(): { text: string; isInt: boolean } {
    const start = this.pos
    if (this.byteAt(this.pos) === 0x2d) {
      this.pos++
      this.expectDigit('in numeric literal')
    }
    if (this.byteAt(this.pos) === 0x30) this.pos++
    else this.skipDigits()
    let isInt = true
    if (this.byteAt(this.pos) === 0x2e) {
      this.pos++
      this.expectDigit('after decimal point in numeric literal')
      this.skipDigits()
      isInt = false
    }
    const e = this.byteAt(this.pos)
    if (e === 0x65 || e === 0x45) {
      this.pos++
      const sign = this.byteAt(this.pos)
      if (sign === 0x2b || sign === 0x2d) this.pos++
      this.expectDigit('in exponent of numeric literal')
      this.skipDigits()
      isInt = false
    }
    return { text: this.buf.toString('latin1', start, this.pos), isInt }
  }

  private expectDigit(context: string): void {
    const b = this.byteAt(this.pos)
    if (b < 0) this.failEof()
    if (!isDigit(b)) this.fail(`invalid character ${quoteChar(b)} ${context}`, this.pos)
  }

  private skipDigits(): void {
    while (isDigit(this.byteAt(this.pos))) this.pos++
  }

  /**
   * A string literal at `pos` (the opening quote). Runs between escapes are found with native
   * byte searches and decoded natively, so a 90 MB `ENC[…]` value costs a few memchr passes.
   */
  private readString(): string {
    const buf = this.buf
    let i = this.pos + 1
    let quote = buf.indexOf(0x22, i)
    const parts: string[] = []
    for (;;) {
      if (quote < 0) this.failEof()
      const slash = buf.subarray(i, quote).indexOf(0x5c)
      const runEnd = slash < 0 ? quote : i + slash
      parts.push(this.decodeRun(i, runEnd))
      if (slash < 0) {
        this.pos = quote + 1
        return parts.length === 1 ? parts[0]! : parts.join('')
      }
      i = this.readEscape(runEnd, parts)
      // An escaped quote (`\"`) may have been the quote we found: look again past it.
      if (i > quote) quote = buf.indexOf(0x22, i)
    }
  }

  /** Unescaped string bytes [start, end): control characters are errors, bad UTF-8 becomes U+FFFD. */
  private decodeRun(start: number, end: number): string {
    const s = decodeUtf8Go(this.buf, '\ufffd', start, end)
    if (CONTROL.test(s)) {
      let k = start
      while (this.buf[k]! >= 0x20) k++
      this.fail(`invalid character ${quoteChar(this.buf[k]!)} in string literal`, k)
    }
    return s
  }

  /** The escape at `at` (a backslash); pushes its text and returns the index after it. */
  private readEscape(at: number, parts: string[]): number {
    const e = this.byteAt(at + 1)
    if (e < 0) this.failEof()
    if (e !== 0x75) {
      const text = ESCAPES[e]
      if (text === undefined) this.fail(`invalid character ${quoteChar(e)} in string escape code`, at + 1)
      parts.push(text)
      return at + 2
    }
    const rr = this.readHex4(at + 2)
    // Go's unquote: a surrogate must pair with an immediately following \uXXXX low surrogate,
    // else it becomes U+FFFD and the following escape is read on its own.
    if (rr >= 0xd800 && rr < 0xe000) {
      if (rr < 0xdc00 && this.byteAt(at + 6) === 0x5c && this.byteAt(at + 7) === 0x75) {
        const rr1 = this.peekHex4(at + 8)
        if (rr1 >= 0xdc00 && rr1 < 0xe000) {
          parts.push(String.fromCharCode(rr, rr1))
          return at + 12
        }
      }
      parts.push('\ufffd')
      return at + 6
    }
    parts.push(String.fromCharCode(rr))
    return at + 6
  }

  private readHex4(at: number): number {
    let v = 0
    for (let k = at; k < at + 4; k++) {
      const b = this.byteAt(k)
      if (b < 0) this.failEof()
      const h = hexValue(b)
      if (h < 0) this.fail(`invalid character ${quoteChar(b)} in \\u hexadecimal character escape`, k)
      v = v * 16 + h
    }
    return v
  }

  /** Four hex digits at `at`, or -1 (no error: Go's getu4 just declines). */
  private peekHex4(at: number): number {
    let v = 0
    for (let k = at; k < at + 4; k++) {
      const h = hexValue(this.byteAt(k))
      if (h < 0) return -1
      v = v * 16 + h
    }
    return v
  }

  private byteAt(i: number): number {
    return this.buf[i] ?? -1
  }

  private peekNonSpace(): number {
    let c = this.byteAt(this.pos)
    while (SPACE.has(c)) c = this.byteAt(++this.pos)
    return c
  }

  private tokenError(c: number, state: TokenState): never {
    this.fail(`invalid character ${quoteChar(c)}${TOKEN_CONTEXT[state]}`, this.pos)
  }

  private failEof(): never {
    this.fail('unexpected EOF', this.buf.length)
  }

  private fail(message: string, offset: number): never {
    const { line, column } = position(this.buf, offset)
    throw new FormatError(this.prefix + message, line, column)
  }
}

function attach(frame: Frame, value: Value): void {
  if (frame.node instanceof TreeMap) frame.node.items.push({ key: frame.key, value })
  else frame.node.items.push(value)
}

function afterValue(frame: Frame): TokenState {
  return frame.node instanceof TreeMap ? 'objectComma' : 'arrayComma'
}

/** sops's normalizeJSONNumber; undefined when the float is out of range (Go returns an error). */
function numberValue(text: string, isInt: boolean): bigint | number | undefined {
  if (isInt && text.replace('-', '').length <= MAX_INT64_DIGITS) {
    const n = BigInt(text)
    if (isInt64(n)) return n
  }
  const f = Number(text)
  return Number.isFinite(f) ? f : undefined
}

/** 1-based line and column (in characters) of a byte offset, for error messages. */
function position(buf: Buffer, offset: number): { line: number; column: number } {
  let line = 1
  let lineStart = 0
  for (let nl = buf.indexOf(0x0a); nl >= 0 && nl < offset; nl = buf.indexOf(0x0a, nl + 1)) {
    line++
    lineStart = nl + 1
  }
  let column = 1
  for (let k = lineStart; k < offset && k < buf.length; k++) if ((buf[k]! & 0xc0) !== 0x80) column++
  return { line, column }
}

export interface ParseJsonOptions {
  /** Prepended to every parse error message (see PLAIN_PARSE_PREFIX / ENCRYPTED_PARSE_PREFIX). */
  prefix?: string
  /**
   * sops's ExtractMetadata checks: a duplicate or non-mapping `sops` entry is an error. Off for
   * plaintext, where any `sops` key must instead surface as "already encrypted" (exit 203).
   */
  strictMetadata?: boolean
}

/** Parse a JSON store file; a single mapping `sops` entry becomes `metadata`. */
export function parseJsonDocument(bytes: Uint8Array, options: ParseJsonOptions = {}): Document {
  const root = new JsonReader(asBuffer(bytes), options.prefix ?? PLAIN_PARSE_PREFIX).readDocument()
  return { branches: [root], metadata: extractMetadata(root, options.strictMetadata ?? false) }
}

/**
 * Take the `sops` entry out of the root. Without `strict`, anything but exactly one mapping
 * entry is left in place, so `hasMetadataKey` still reports it.
 */
function extractMetadata(root: TreeMap, strict: boolean): TreeMap | undefined {
  const entries = root.entries().filter((e) => e.key === SOPS_KEY)
  if (entries.length === 0) return undefined
  if (strict && entries.length > 1) throw new GenericError(`Found duplicate ${SOPS_KEY} entry`, { code: 'INVALID_METADATA' })
  const first = entries[0]!
  if (!(first.value instanceof TreeMap)) {
    if (strict) throw new GenericError(`Found ${SOPS_KEY} entry that is not a mapping`, { code: 'INVALID_METADATA' })
    return undefined
  }
  if (entries.length > 1) return undefined
  root.delete(SOPS_KEY)
  return first.value
}

/** Strict parse of an encrypted JSON file (sops's LoadEncryptedFile messages). */
export function parseEncryptedJson(bytes: Uint8Array): Document {
  return parseJsonDocument(bytes, { prefix: ENCRYPTED_PARSE_PREFIX, strictMetadata: true })
}

// ---- writing ---------------------------------------------------------------------------------

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

function encodeToBytes(value: Value, options: EmitOptions | undefined, trailer: string, errorPrefix: string): Uint8Array {
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

/** EmitPlainFile / EmitEncryptedFile: the first branch, `sops` appended last, trailing newline. */
export function emitJsonDocument(doc: Document, options?: EmitOptions): Uint8Array {
  const branch = doc.branches[0] ?? new TreeMap()
  let root = branch
  if (doc.metadata !== undefined) {
    if (branch.entry(SOPS_KEY) !== undefined) {
      throw new EmitError(
        `Error marshaling metadata: Found key "${SOPS_KEY}" in encrypted data, which is a reserved key used for SOPS metadata`,
      )
    }
    root = new TreeMap([...branch.items, { key: SOPS_KEY, value: doc.metadata }])
  }
  return encodeToBytes(root, options, '\n', 'Error marshaling to json: ')
}

/** EmitValue (`--extract` of a list or scalar): re-indented, no trailing newline. */
export function emitJsonValue(value: Value, options?: EmitOptions): Uint8Array {
  return encodeToBytes(value, options, '', '')
}

export const jsonFormat: Format = {
  name: 'json',
  extensions: ['.json'],
  parse: (bytes) => parseJsonDocument(bytes),
  emit: emitJsonDocument,
  emitValue: emitJsonValue,
  hasMetadataKey: (doc) => doc.metadata !== undefined || doc.branches.some((b) => b.entry(SOPS_KEY) !== undefined),
}
