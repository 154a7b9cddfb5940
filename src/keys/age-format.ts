/**
 * Reading the age v1 file format (https://age-encryption.org/v1) the way filippo.io/age v1.3.1
 * reads it — armor.NewReader, then format.Parse — with its error texts: sops puts them in the
 * "Group 0: FAILED" block for a damaged `enc`, so tsops must give the same words.
 *
 * Go reads through readers; here the armor is decoded up front into the bytes Go would see and
 * the error (if any) it would hit after them. A read that needs more bytes than that gets the
 * error, exactly where Go's bufio would.
 */
import { goBase64Decode, goQuote } from './go-text.js'

export const ARMOR_HEADER = '-----BEGIN AGE ENCRYPTED FILE-----'
export const ARMOR_FOOTER = '-----END AGE ENCRYPTED FILE-----'
const INTRO = 'age-encryption.org/v1\n'
/** Bytes of one full armor line and of one full stanza body line (64 base64 columns). */
export const BYTES_PER_LINE = 48
const COLUMNS_PER_LINE = 64
const MAX_WHITESPACE = 1024

/** The bytes a reader yields, then clean EOF (no error) or the error a further read gets. */
export interface AgeStream {
  data: Buffer
  error?: string
}

// ---- armor.NewReader ------------------------------------------------------------------------

/** Line reader with armor's getLine: `\n` and a final `\r` stripped; nothing left is "unexpected EOF". */
class Lines {
  pos = 0
  constructor(readonly src: Buffer) {}
  next(): Buffer {
    if (this.pos >= this.src.length) throw new ArmorEnd('unexpected EOF')
    const nl = this.src.indexOf(0x0a, this.pos)
    const end = nl === -1 ? this.src.length : nl
    let line = this.src.subarray(this.pos, end)
    this.pos = nl === -1 ? this.src.length : nl + 1
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1)
    return line
  }
}

class ArmorEnd {
  constructor(readonly error?: string) {}
}

function isBlank(b: Buffer): boolean {
  return b.toString('latin1').trim() === ''
}

/** What armor.NewReader yields for `text`: the decoded bytes and where (and why) it stops. */
export function readArmor(text: string | Buffer): AgeStream {
  const lines = new Lines(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'))
  const chunks: Buffer[] = []
  const stop = (error?: string): AgeStream => ({ data: Buffer.concat(chunks), ...(error === undefined ? {} : { error: `invalid armor: ${error}` }) })
  try {
    let removed = 0
    for (;;) {
      const line = lines.next()
      if (isBlank(line)) {
        removed += line.length + 1
        if (removed > MAX_WHITESPACE) return stop('too much leading whitespace')
        continue
      }
      if (line.toString('latin1') !== ARMOR_HEADER) return stop(`invalid first line: ${goQuote(line)}`)
      break
    }
    for (;;) {
      const line = lines.next()
      if (line.toString('latin1') === ARMOR_FOOTER) return stop(drainTrailing(lines))
      if (line.length === 0) return stop('empty line in armored data')
      if (line.length > COLUMNS_PER_LINE) return stop('column limit exceeded')
      const decoded = goBase64Decode(line.toString('latin1'), true)
      if (!decoded.ok) return stop(decoded.error)
      if (decoded.bytes.length < BYTES_PER_LINE) {
        const closing = lines.next()
        if (closing.toString('latin1') !== ARMOR_FOOTER) return stop(`invalid closing line: ${goQuote(closing)}`)
        chunks.push(decoded.bytes)
        return stop(drainTrailing(lines))
      }
      chunks.push(decoded.bytes)
    }
  } catch (e) {
    if (e instanceof ArmorEnd) return stop(e.error)
    throw e
  }
}

/** Whitespace only (and not too much of it) may follow the footer. Undefined: clean EOF. */
function drainTrailing(lines: Lines): string | undefined {
  const rest = lines.src.subarray(lines.pos, lines.pos + MAX_WHITESPACE)
  if (!isBlank(rest)) return 'trailing data after armored file'
  if (rest.length === MAX_WHITESPACE) return 'too much trailing whitespace'
  return undefined
}

// ---- format.Parse ---------------------------------------------------------------------------

export interface Stanza {
  type: string
  args: string[]
  body: Buffer
}

export interface AgeHeader {
  stanzas: Stanza[]
  /** The header up to and including "---": what the MAC covers (strict parsing makes it canonical). */
  macInput: Buffer
  mac: Buffer
}

export type ParsedAgeFile = { ok: true; header: AgeHeader; payload: AgeStream } | { ok: false; error: string }

/** bufio over a stream: a read that runs past the bytes gets "EOF" or the stream's error. */
class Reader {
  pos = 0
  constructor(readonly stream: AgeStream) {}
  private get end(): string {
    return this.stream.error ?? 'EOF'
  }
  /** ReadBytes('\n'): the line with its newline, or what there was and the error. */
  readLine(): { line: Buffer; err?: string } {
    const nl = this.stream.data.indexOf(0x0a, this.pos)
    if (nl === -1) {
      const line = this.stream.data.subarray(this.pos)
      this.pos = this.stream.data.length
      return { line, err: this.end }
    }
    const line = this.stream.data.subarray(this.pos, nl + 1)
    this.pos = nl + 1
    return { line }
  }
  peek(n: number): { bytes: Buffer; err?: string } {
    const bytes = this.stream.data.subarray(this.pos, this.pos + n)
    return bytes.length < n ? { bytes, err: this.end } : { bytes }
  }
  rest(): AgeStream {
    return { data: this.stream.data.subarray(this.pos), ...(this.stream.error === undefined ? {} : { error: this.stream.error }) }
  }
}

/** format.ParseError's prefix. */
const parseError = (text: string) => `parsing age header: ${text}`

class HeaderError {
  constructor(readonly text: string) {}
}

/** age.Decrypt's header step: the header, or `failed to read header: …` in age's words. */
export function parseAgeFile(input: AgeStream | Buffer): ParsedAgeFile {
  const r = new Reader(Buffer.isBuffer(input) ? { data: input } : input)
  try {
    return { ok: true, header: parseHeader(r), payload: r.rest() }
  } catch (e) {
    if (e instanceof HeaderError) return { ok: false, error: `failed to read header: ${e.text}` }
    throw e
  }
}

function parseHeader(r: Reader): AgeHeader {
  const intro = r.readLine()
  if (intro.err === 'EOF') throw new HeaderError(parseError('file is empty'))
  if (intro.err !== undefined) throw new HeaderError(parseError(`failed to read intro: ${intro.err}`))
  if (intro.line.toString('latin1') !== INTRO) throw new HeaderError(parseError(`unexpected intro: ${goQuote(intro.line)}`))
  const stanzas: Stanza[] = []
  for (;;) {
    const peek = r.peek(3)
    if (peek.err !== undefined) throw new HeaderError(parseError(`failed to read header: ${peek.err}`))
    if (peek.bytes.toString('latin1') === '---') {
      const macStart = r.pos
      const { line, err } = r.readLine()
      if (err !== undefined) throw new HeaderError(`failed to read header: ${err}`)
      const { prefix, args } = splitArgs(line)
      if (prefix !== '---' || args.length !== 1) throw new HeaderError(parseError(`malformed closing line: ${goQuote(line)}`))
      const mac = decodeString(args[0]!)
      if (!mac.ok || mac.bytes.length !== 32) throw new HeaderError(parseError(`malformed closing line ${goQuote(line)}: ${mac.ok ? '<nil>' : mac.error}`))
      return { stanzas, macInput: r.stream.data.subarray(0, macStart + 3), mac: mac.bytes }
    }
    try {
      stanzas.push(readStanza(r))
    } catch (e) {
      if (e instanceof HeaderError) throw new HeaderError(`failed to parse header: ${e.text}`)
      throw e
    }
  }
}

function readStanza(r: Reader): Stanza {
  const opening = r.readLine()
  if (opening.err !== undefined) throw new HeaderError(`failed to read line: ${opening.err}`)
  const line = opening.line
  if (!line.toString('latin1').startsWith('->')) throw new HeaderError(`malformed stanza opening line: ${goQuote(line)}`)
  const { prefix, args } = splitArgs(line)
  if (prefix !== '->' || args.length < 1 || !args.every(isValidString)) throw new HeaderError(`malformed stanza: ${goQuote(line)}`)
  const body: Buffer[] = []
  for (;;) {
    const next = r.readLine()
    if (next.err !== undefined) throw new HeaderError(`failed to read line: ${next.err}`)
    const text = next.line.toString('latin1')
    const decoded = decodeString(text.endsWith('\n') ? text.slice(0, -1) : text)
    if (!decoded.ok) {
      if (text.startsWith('---') || text.startsWith('->')) {
        throw new HeaderError(
          `malformed body line ${goQuote(next.line)}: stanza ended without a short line\nnote: this might be a file encrypted with an old beta version of age or rage; use age v1.0.0-beta6 or rage to decrypt it`,
        )
      }
      throw new HeaderError(parseError(`malformed body line ${goQuote(next.line)}: ${decoded.error}`))
    }
    if (decoded.bytes.length > BYTES_PER_LINE) throw new HeaderError(parseError(`malformed body line ${goQuote(next.line)}: too long`))
    body.push(decoded.bytes)
    if (decoded.bytes.length < BYTES_PER_LINE) return { type: args[0]!, args: args.slice(1), body: Buffer.concat(body) }
  }
}

function splitArgs(line: Buffer): { prefix: string; args: string[] } {
  const text = line.toString('latin1')
  const [prefix, ...args] = (text.endsWith('\n') ? text.slice(0, -1) : text).split(' ')
  return { prefix: prefix!, args }
}

/** Printable ASCII only, non-empty (format.isValidString; latin1 keeps one char per byte). */
function isValidString(s: string): boolean {
  return s.length > 0 && [...s].every((c) => c.charCodeAt(0) >= 33 && c.charCodeAt(0) <= 126)
}

/** format.DecodeString: unpadded strict base64, newlines refused. */
export function decodeString(s: string): ReturnType<typeof goBase64Decode> {
  if (/[\n\r]/.test(s)) return { ok: false, error: 'unexpected newline character' }
  return goBase64Decode(s, false)
}
