/**
 * yaml.v3's line breaks, which are not YAML 1.2's.
 *
 * yaml.v3 (a port of libyaml, YAML 1.1) also breaks lines at NEL (U+0085), LS (U+2028) and PS
 * (U+2029); the `yaml` package (YAML 1.2) reads them as ordinary characters. The emitter port
 * writes them as yaml.v3 does (`'a<LS>    b'`: a break, then indentation), so the reader must
 * break there too, or tsops could not read its own output.
 *
 *  - `asYaml12Breaks` gives the `yaml` package a text of the same length with each of them
 *    replaced by `\n`: the structure (lines, columns, which lines belong to which node) is then
 *    the one yaml.v3 sees. Inside a quoted scalar they become a space instead: libyaml does not
 *    check the indentation of a quoted scalar's lines (the emitter writes `'a<LS>'`, closing
 *    quote at column 0), and tsops accepts a quoted implicit key holding one (`"api<LS>key": v`,
 *    which yaml.v3 refuses as a multi-line key) and writes it as yaml.v3 would, `? 'api<LS>    key'`.
 *  - libyaml keeps an LS or PS break as itself where a `\n` break is folded to a space or
 *    dropped, and folds blanks around any break, so a scalar whose source holds one of them is
 *    decoded again from the original text by the ports of libyaml's scanners below
 *    (yaml_parser_scan_plain_scalar / _flow_scalar / _block_scalar).
 *  - A block scalar that ends the file without a final line break keeps no final newline in
 *    yaml.v3 (the `yaml` package adds one); it is decoded by the same port.
 */
import { Lexer } from 'yaml'

const YAML11_ONLY_BREAKS = /[\u0085\u2028\u2029]/g
const HAS_YAML11_ONLY_BREAK = /[\u0085\u2028\u2029]/
const ENDS_WITH_BREAK = /[\n\r\u0085\u2028\u2029]$/

/**
 * The text with NEL, LS and PS as `\n` (as a space inside quoted scalars): same length, so
 * every offset stays valid. The original text when it has none of them.
 */
export function asYaml12Breaks(text: string): string {
  if (!HAS_YAML11_ONLY_BREAK.test(text)) return text
  const quoted = quotedScalarRanges(text.replace(YAML11_ONLY_BREAKS, '\n'))
  let q = 0
  return text.replace(YAML11_ONLY_BREAKS, (_match, offset: number) => {
    while (q < quoted.length && quoted[q]![1] <= offset) q++
    const inQuotes = q < quoted.length && quoted[q]![0] < offset
    return inQuotes ? ' ' : '\n'
  })
}

/**
 * [start, end) of every quoted scalar token of `text` (in which every yaml.v3 break is a line
 * break), in order; the lexer's control tokens take no room.
 */
function quotedScalarRanges(text: string): [number, number][] {
  const ranges: [number, number][] = []
  let offset = 0
  for (const token of unindentedQuotesLexer().lex(text)) {
    if (token === '\x02' || token === '\x18' || token === '\x1f') continue
    if (token.startsWith('"') || token.startsWith("'")) ranges.push([offset, offset + token.length])
    offset += token.length
  }
  return ranges
}

export type ScalarStyle = 'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE' | 'BLOCK_LITERAL' | 'BLOCK_FOLDED'

/**
 * May the scalar at [start, end) of `original` decode differently in yaml.v3 than the `yaml`
 * package decoded its YAML 1.2 view? (A NEL, LS or PS in its source, or a block scalar ending
 * the file with no final line break.)
 */
export function needsYaml11Decoding(original: string, style: ScalarStyle, start: number, end: number): boolean {
  if (HAS_YAML11_ONLY_BREAK.test(original.slice(start, end))) return true
  const isBlock = style === 'BLOCK_LITERAL' || style === 'BLOCK_FOLDED'
  return isBlock && end >= original.length && !ENDS_WITH_BREAK.test(original)
}

/**
 * The value yaml.v3 reads for the scalar at [start, end) of `original` (`end`: the end of its
 * value, closing quote included). `parentIndent` is the column of the block collection holding
 * it (libyaml's parser->indent), used by block scalars. Only called on source the `yaml` package
 * has accepted, so errors libyaml would report are not checked again here.
 */
export function decodeYaml11Scalar(original: string, style: ScalarStyle, start: number, end: number, parentIndent: number): string {
  switch (style) {
    case 'PLAIN':
      return new FlowScanner(original, end).plain(start)
    case 'QUOTE_SINGLE':
    case 'QUOTE_DOUBLE':
      return new FlowScanner(original, end - 1).quoted(start + 1, style === 'QUOTE_SINGLE')
    default:
      return new BlockScanner(original, end).scan(start, parentIndent)
  }
}

/** The parts of the `yaml` package's Lexer (private in its types) that unindentedQuotesLexer changes. */
interface LexerInternals {
  buffer: string
  continueScalar(offset: number): number
  parseQuotedScalar(): Generator<string, string>
}

/**
 * The `yaml` package's lexer, except that the lines of a quoted scalar may be less indented than
 * its node, as libyaml allows (only a document marker ends it early). It otherwise ends the
 * token at the "unexpected unindent", and every later token would be misplaced.
 */
function unindentedQuotesLexer(): Lexer {
  const lexer = new Lexer()
  const internals = lexer as unknown as LexerInternals
  const continueScalar = internals.continueScalar.bind(lexer)
  const parseQuotedScalar = internals.parseQuotedScalar.bind(lexer)
  let inQuotes = false
  internals.parseQuotedScalar = function* () {
    inQuotes = true
    try {
      return yield* parseQuotedScalar()
    } finally {
      inQuotes = false
    }
  }
  internals.continueScalar = (offset) => {
    if (!inQuotes) return continueScalar(offset)
    return /^(---|\.\.\.)([ \t\n\r]|$)/.test(internals.buffer.slice(offset, offset + 4)) ? -1 : offset
  }
  return lexer
}

// ---- characters ------------------------------------------------------------------------------

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t'
}

function isBreak(c: string | undefined): boolean {
  return c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029'
}

/** libyaml's yaml_parser_read_line: CRLF, CR, LF and NEL read as `\n`; LS and PS as themselves. */
function readBreak(text: string, i: number): { text: string; length: number } {
  const c = text[i]!
  if (c === '\r' && text[i + 1] === '\n') return { text: '\n', length: 2 }
  if (c === '\u2028' || c === '\u2029') return { text: c, length: 1 }
  return { text: '\n', length: 1 }
}

/**
 * Joining two lines of a flow or plain scalar: a `\n` break folds to a space (or gives way to the
 * empty lines after it); an LS/PS break, or none (an escaped break), is kept with them.
 */
function fold(leadingBreak: string, trailingBreaks: string): string {
  if (leadingBreak === '\n') return trailingBreaks === '' ? ' ' : trailingBreaks
  return leadingBreak + trailingBreaks
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\x08',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\x0b',
  f: '\x0c',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  "'": "'",
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
}

const HEX_ESCAPE_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 }

// ---- plain and quoted scalars ----------------------------------------------------------------

class FlowScanner {
  private out = ''
  private whitespaces = ''
  private leadingBreak = ''
  private trailingBreaks = ''
  private leadingBlanks = false

  /** `end`: where the scalar's content stops (its closing quote, or the end of a plain scalar). */
  constructor(
    private readonly text: string,
    private readonly end: number,
  ) {}

  plain(start: number): string {
    let i = start
    while (i < this.end) {
      for (; i < this.end && !isBlank(this.text[i]) && !isBreak(this.text[i]); i++) {
        this.joinPending()
        this.out += this.text[i]
      }
      i = this.blanksAndBreaks(i)
    }
    return this.out
  }

  quoted(start: number, single: boolean): string {
    let i = start
    while (i < this.end) {
      this.leadingBlanks = false
      while (i < this.end && !isBlank(this.text[i]) && !isBreak(this.text[i])) {
        const c = this.text[i]!
        if (single && c === "'") {
          this.out += "'" // '' inside single quotes
          i += 2
        } else if (!single && c === '\\' && isBreak(this.text[i + 1])) {
          // An escaped line break joins the lines with nothing in between.
          i += 1 + readBreak(this.text, i + 1).length
          this.leadingBlanks = true
          break
        } else if (!single && c === '\\') {
          i = this.escape(i)
        } else {
          this.out += c
          i++
        }
      }
      i = this.blanksAndBreaks(i)
      this.joinPending()
    }
    return this.out
  }

  /** Consumes blanks and line breaks from `i`; returns the next position. */
  private blanksAndBreaks(i: number): number {
    while (i < this.end && (isBlank(this.text[i]) || isBreak(this.text[i]))) {
      if (isBlank(this.text[i])) {
        if (!this.leadingBlanks) this.whitespaces += this.text[i]
        i++
        continue
      }
      const br = readBreak(this.text, i)
      i += br.length
      if (this.leadingBlanks) {
        this.trailingBreaks += br.text
      } else {
        this.whitespaces = ''
        this.leadingBreak = br.text
        this.leadingBlanks = true
      }
    }
    return i
  }

  /** Writes the pending blanks or folded breaks before the next content. */
  private joinPending(): void {
    if (this.leadingBlanks) this.out += fold(this.leadingBreak, this.trailingBreaks)
    else this.out += this.whitespaces
    this.leadingBreak = ''
    this.trailingBreaks = ''
    this.whitespaces = ''
    this.leadingBlanks = false
  }

  /** A `\` escape at `i` (not a line break); returns the position after it. */
  private escape(i: number): number {
    const c = this.text[i + 1]!
    const simple = SIMPLE_ESCAPES[c]
    if (simple !== undefined) {
      this.out += simple
      return i + 2
    }
    const length = HEX_ESCAPE_LENGTH[c] ?? 0
    const code = Number.parseInt(this.text.slice(i + 2, i + 2 + length), 16)
    this.out += String.fromCodePoint(code)
    return i + 2 + length
  }
}

// ---- block scalars ---------------------------------------------------------------------------

class BlockScanner {
  private column = 0

  /** `end`: the end of the scalar's source as the `yaml` package delimited it. */
  constructor(
    private readonly text: string,
    private readonly end: number,
  ) {}

  scan(headerStart: number, parentIndent: number): string {
    const literal = this.text[headerStart] === '|'
    let i = headerStart + 1
    let chomping = 0
    let increment = 0
    for (; i < this.end && /[-+1-9]/.test(this.text[i]!); i++) {
      const c = this.text[i]!
      if (c === '+') chomping = 1
      else if (c === '-') chomping = -1
      else increment = Number(c)
    }
    // The rest of the header line (blanks, a comment) and its break are not content.
    while (i < this.end && !isBreak(this.text[i])) i++
    if (i < this.end) i += readBreak(this.text, i).length
    this.column = 0

    let indent = increment === 0 ? 0 : parentIndent >= 0 ? parentIndent + increment : increment
    const leading = this.breaks(i, indent, parentIndent)
    i = leading.next
    indent = leading.indent
    let trailingBreaks = leading.breaks
    let leadingBreak = ''
    let leadingBlank = false
    let out = ''
    while (i < this.end && this.column === indent) {
      const trailingBlank = isBlank(this.text[i])
      if (!literal && leadingBreak === '\n' && !leadingBlank && !trailingBlank) {
        if (trailingBreaks === '') out += ' '
      } else {
        out += leadingBreak
      }
      leadingBreak = ''
      out += trailingBreaks
      trailingBreaks = ''
      leadingBlank = trailingBlank
      const lineStart = i
      while (i < this.end && !isBreak(this.text[i])) i++
      out += this.text.slice(lineStart, i)
      if (i >= this.end) break // the file ends without a line break: none to keep
      const br = readBreak(this.text, i)
      leadingBreak = br.text
      this.column = 0
      const next = this.breaks(i + br.length, indent, parentIndent)
      i = next.next
      trailingBreaks = next.breaks
    }
    if (chomping !== -1) out += leadingBreak
    if (chomping === 1) out += trailingBreaks
    return out
  }

  /**
   * yaml_parser_scan_block_scalar_breaks: the indentation and empty lines before a content
   * line; with `indent` 0 the indentation is found (the deepest of those lines, at least one
   * more than the parent's).
   */
  private breaks(from: number, indent: number, parentIndent: number): { next: number; indent: number; breaks: string } {
    let i = from
    let maxIndent = 0
    let breaks = ''
    for (;;) {
      while ((indent === 0 || this.column < indent) && i < this.end && this.text[i] === ' ') {
        i++
        this.column++
      }
      if (this.column > maxIndent) maxIndent = this.column
      if (i >= this.end || !isBreak(this.text[i])) break
      const br = readBreak(this.text, i)
      breaks += br.text
      i += br.length
      this.column = 0
    }
    if (indent === 0) indent = Math.max(maxIndent, parentIndent + 1, 1)
    return { next: i, indent, breaks }
  }
}
