/**
 * The JSON store's reader: Go's `json.Decoder.Token()` state machine (that is what sops streams
 * through), so duplicate keys survive in order and error texts match Go's ("invalid character
 * 'x' looking for beginning of value"). Numbers follow sops's `UseNumber` + `normalizeJSONNumber`:
 * integer syntax within int64 is an int (bigint), anything else a float64. An explicit stack
 * instead of recursion, capped at Go's nesting limit.
 */
import { FormatError } from '../core/errors.js'
import { formatFloatG, isInt64 } from '../core/gofmt.js'
import { TreeMap, TreeSeq, type Scalar, type Value } from '../core/tree.js'
import { decodeUtf8Go, goQuote, quoteChar } from './go-text.js'

/** Go encoding/json's maxNestingDepth: json.Indent (and so sops's emit) refuses anything deeper. */
export const MAX_DEPTH = 10000

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

export class JsonReader {
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
