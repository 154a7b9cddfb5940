/**
 * A fast reader for the plain block YAML that sops files almost always are: mappings and
 * sequences by indentation (and empty `{}` / `[]`), one-line plain and quoted scalars, literal
 * block scalars (the age recipients' armored keys), no comments. It returns exactly the tree the full reader
 * (yaml-parse.ts on the `yaml` package) returns for the same text, or undefined as soon as it
 * meets anything else, and the full reader then does the work: comments, flow collections,
 * anchors and aliases, tags, multi-line and escaped scalars, several documents, errors.
 *
 * Why: on a cold start the `yaml` package's parser and composer cost ~2 ms for a small file —
 * more than the decryption — and a third of a 10,000-value round trip. A differential test keeps
 * this reader honest (test/formats/yaml-simple.test.ts): for every input it accepts, both
 * readers give the same tree.
 */
import { Timestamp, TreeMap, TreeSeq, type MapEntry, type Value } from '../core/tree.js'
import { resolvePlain } from './yaml-resolve.js'

/** Thrown internally to give up; never leaves this module. */
class NotSimple extends Error {}

function giveUp(): never {
  throw new NotSimple()
}

// Tabs, CRs, other control characters, BOMs and the line breaks of YAML 1.1 (NEL, LS, PS) all
// have rules of their own; so has '#', the comment indicator. Any of them: the full reader.
const UNSUPPORTED_CHARS = /[\x00-\x09\x0b-\x1f\x7f\u0085\u2028\u2029\ufeff#]/
// Indicators that may not start a plain scalar here (sequence, key, value, flow, anchor, alias,
// tag, block scalar, quotes, directive, reserved) — '-' is handled on its own.
const INDICATOR_START = /^[?:,[\]{}&*!|>'"%@`]/
const DOCUMENT_MARKER = /^(---|\.\.\.)( |$)/

/** The tree of `text`, or undefined when it is not plain block YAML of one mapping document. */
export function parseSimpleYaml(text: string): TreeMap | undefined {
  // Without a final line break, a block scalar at the end keeps no newline: rare, left out.
  if (!text.endsWith('\n') || UNSUPPORTED_CHARS.test(text)) return undefined
  const lines = text.split('\n')
  lines.pop()
  try {
    const reader = new Reader(lines)
    const first = reader.nextContent()
    if (first === undefined || indentOf(lines[first]!) !== 0) return undefined
    const root = reader.mapping(first, 0)
    if (reader.nextContent() !== undefined) return undefined
    return root
  } catch {
    // NotSimple, or anything unexpected (a stack overflow on absurd nesting): the full reader
    // decides, with its own errors.
    return undefined
  }
}

function indentOf(line: string): number {
  let i = 0
  while (line.charCodeAt(i) === 0x20) i++
  return i
}

function isBlank(line: string): boolean {
  return indentOf(line) === line.length
}

function isSeqItem(content: string): boolean {
  return content === '-' || content.startsWith('- ')
}

/**
 * Deeper documents go to the full reader, whose limit (the `yaml` package recurses per level,
 * ~900 levels) then applies to every document alike: both readers accept the same texts.
 */
const MAX_DEPTH = 500

class Reader {
  /** The next line to read. */
  private pos = 0
  private depth = 0

  constructor(private readonly lines: string[]) {}

  /** Index of the next non-blank line (not consumed), or undefined at the end. */
  nextContent(): number | undefined {
    while (this.pos < this.lines.length && isBlank(this.lines[this.pos]!)) this.pos++
    if (this.pos >= this.lines.length) return undefined
    const line = this.lines[this.pos]!
    if (line.endsWith(' ') || DOCUMENT_MARKER.test(line) || line.startsWith('%')) giveUp()
    return this.pos
  }

  /** A block mapping whose keys sit at column `col`, starting at line `at`. */
  mapping(at: number, col: number): TreeMap {
    if (++this.depth > MAX_DEPTH) giveUp()
    const map = new TreeMap()
    const seen = new Set<string>()
    for (let i: number | undefined = at; i !== undefined && indentOf(this.lines[i]!) === col; i = this.nextContent()) {
      const content = this.lines[i]!.slice(col)
      if (isSeqItem(content)) break // a sequence at the parent key's column ends this mapping
      const colon = content.indexOf(': ')
      const bare = colon === -1 && content.endsWith(':')
      if (colon === -1 && !bare) giveUp()
      const key = mappingKey(bare ? content.slice(0, -1) : content.slice(0, colon))
      if (seen.has(key)) giveUp() // duplicate keys: the full reader reports them as yaml.v3 does
      seen.add(key)
      this.pos = i + 1
      const entry: MapEntry = { key, value: null }
      entry.value = bare ? this.nestedValue(col, true) : this.inlineValue(content.slice(colon + 2), col)
      map.items.push(entry)
    }
    this.depth--
    return map
  }

  /** A block sequence whose `-` indicators sit at column `col`. */
  sequence(at: number, col: number): TreeSeq {
    if (++this.depth > MAX_DEPTH) giveUp()
    const seq = new TreeSeq()
    for (let i: number | undefined = at; i !== undefined && indentOf(this.lines[i]!) === col; i = this.nextContent()) {
      const content = this.lines[i]!.slice(col)
      if (!isSeqItem(content)) giveUp()
      if (content === '-') {
        this.pos = i + 1
        seq.items.push(this.nestedValue(col, false))
        continue
      }
      const rest = content.slice(2)
      const restCol = col + 2 + indentOf(rest)
      const item = rest.trimStart()
      if (isSeqItem(item)) {
        // `- - x` opens a sequence at the inner dash's column: read the line as if so indented.
        this.lines[i] = ' '.repeat(restCol) + item
        seq.items.push(this.sequence(i, restCol))
      } else if (item.includes(': ') || item.endsWith(':')) {
        // `- key: value` opens a mapping at the key's column: read the line as if so indented.
        this.lines[i] = ' '.repeat(restCol) + item
        seq.items.push(this.mapping(i, restCol))
      } else {
        this.pos = i + 1
        seq.items.push(this.inlineValue(item, col))
      }
    }
    this.depth--
    return seq
  }

  /**
   * The value after `key:` or `-` with nothing else on the line: a block collection on the next
   * lines, or null. A mapping's value may be a sequence at the key's own column.
   */
  private nestedValue(parentCol: number, mayBeSameColumnSeq: boolean): Value {
    const next = this.nextContent()
    if (next === undefined) return null
    const line = this.lines[next]!
    const col = indentOf(line)
    const content = line.slice(col)
    if (col === parentCol && mayBeSameColumnSeq && isSeqItem(content)) return this.sequence(next, col)
    if (col <= parentCol) return null
    return isSeqItem(content) ? this.sequence(next, col) : this.mapping(next, col)
  }

  /** A value written on the line of its key or `-`; `parentCol` is that line's indentation. */
  private inlineValue(written: string, parentCol: number): Value {
    const text = written.trimStart()
    if (text === '|' || text === '|-') return this.literal(parentCol, text === '|-')
    const value = scalar(text)
    // A more indented line next would continue a multi-line scalar (or be an error).
    const next = this.nextContent()
    if (next !== undefined && indentOf(this.lines[next]!) > parentCol) giveUp()
    return value
  }

  /** A literal block scalar (`|` clips to one final newline, `|-` strips it). */
  private literal(parentCol: number, strip: boolean): string {
    const start = this.pos
    const first = this.nextContent()
    if (first === undefined || first !== start) giveUp() // leading blank lines set the indentation their own way
    const indent = indentOf(this.lines[first]!)
    if (indent <= parentCol) giveUp()
    const body: string[] = []
    let i = first
    for (; i < this.lines.length; i++) {
      const line = this.lines[i]!
      if (isBlank(line)) body.push(line.slice(indent))
      else if (indentOf(line) >= indent) body.push(line.slice(indent))
      else break
    }
    this.pos = i
    while (body.length > 0 && body[body.length - 1] === '') body.pop()
    if (body.some((l) => l.endsWith(' ') && isBlank(l))) giveUp() // spaces-only lines inside: leave to the full reader
    if (body.length === 0) return ''
    return body.join('\n') + (strip ? '' : '\n')
  }
}

/** A mapping key: a plain scalar that yaml.v3 reads as a string (anything else: full reader). */
function mappingKey(text: string): string {
  // YAML limits implicit keys to 1024 characters (the full reader reports longer ones).
  if (text === '' || text.length > 1000 || text.includes(':') || text.startsWith('<') || text.startsWith(' ')) giveUp()
  const value = scalar(text)
  return typeof value === 'string' ? value : giveUp()
}

/** A one-line scalar: plain (typed as yaml.v3 does), or quoted without escapes; or `{}` / `[]`. */
function scalar(text: string): Value {
  if (text === '{}') return new TreeMap()
  if (text === '[]') return new TreeSeq()
  const c = text[0]
  if (c === '"') {
    if (text.length < 2 || !text.endsWith('"') || text.includes('\\') || text.slice(1, -1).includes('"')) giveUp()
    return text.slice(1, -1)
  }
  if (c === "'") {
    const inner = text.slice(1, -1)
    if (text.length < 2 || !text.endsWith("'") || inner.replaceAll("''", '').includes("'")) giveUp()
    return inner.replaceAll("''", "'")
  }
  if (INDICATOR_START.test(text)) giveUp()
  if (c === '-' && !/^-[0-9.]/.test(text)) giveUp()
  if (text.includes(': ') || text.endsWith(':') || text.endsWith(' ')) giveUp()
  const r = resolvePlain(text)
  switch (r.tag) {
    case 'timestamp':
      return new Timestamp(r.value)
    case 'uint':
      return giveUp() // an error the full reader words
    default:
      return r.value
  }
}
