/**
 * The INI store (sops `stores/ini/store.go` on gopkg.in/ini.v1 with AllowNonUniqueSections,
 * spec §5.5). Reading and writing reproduce go-ini's parser.go and file.go:writeToBuffer rule
 * for rule, because clear values (`_unencrypted` keys, comments, quoting) must read back the
 * same in real sops and the MAC covers them.
 *
 * Tree shape: one top-level entry per section (the implicit `DEFAULT` first, duplicates kept),
 * each a map of string values. A section comment is the map's first item; a key's comment
 * (the comment lines above it plus its inline comment) is the item right after the key.
 * Metadata is a `[sops]` section of flattened keys with newlines written as `\n`.
 */
import { Comment, TreeMap, TreeSeq, Timestamp, typeName, type MapItem, type Value } from '../core/tree.js'
import { EmitError, FormatError, emitting } from '../core/errors.js'
import { formatFloatJSON } from '../core/gofmt.js'
import type { Document, Format } from './format.js'
import { flatten, unflatten } from './flatten.js'
import { byteLength, indexAny, trimLeftChars, trimLeftSpace, trimSpace } from './go-text.js'
import { valToString } from './valtostring.js'

const DEFAULT_SECTION = 'DEFAULT'
const SOPS_SECTION = 'sops'
const DELIMITERS = '=:'

interface IniKey {
  name: string
  value: string
  comment: string
}

interface IniSection {
  name: string
  comment: string
  /** Insertion-ordered; a repeated key overwrites the value in place (go-ini NewKey). */
  keys: Map<string, IniKey>
}

function newSection(name: string): IniSection {
  return { name, comment: '', keys: new Map() }
}

/** go-ini Section.NewKey without shadows: a duplicate name keeps its position, takes the new value. */
function newKey(section: IniSection, name: string, value: string): IniKey {
  const existing = section.keys.get(name)
  if (existing) {
    existing.value = value
    return existing
  }
  const key = { name, value, comment: '' }
  section.keys.set(name, key)
  return key
}

// ---- parsing (go-ini parser.go) ------------------------------------------------------------

/** bufio.Reader.ReadBytes('\n') over the decoded text, counting lines for error positions. */
class LineReader {
  private pos = 0
  lineNo = 0
  eof = false

  constructor(private readonly text: string) {}

  /** The next line including its `\n`; at the end, whatever is left (possibly '') and eof. */
  readLine(): string {
    this.lineNo++
    const nl = this.text.indexOf('\n', this.pos)
    const end = nl === -1 ? this.text.length : nl + 1
    if (nl === -1) this.eof = true
    const line = this.text.slice(this.pos, end)
    this.pos = end
    return line
  }
}

function parseError(what: string, line: number): FormatError {
  // go-ini puts the offending line in its messages; it may hold a secret, so only the position is given.
  return new FormatError(`Could not unmarshal input data: ${what}`, line)
}

/** Everything from the first `#` or `;` on (go-ini cleanComment), or undefined. */
function cleanComment(s: string): string | undefined {
  const i = indexAny(s, '#;')
  return i === -1 ? undefined : s.slice(i)
}

/** True only if `s` is quoted with `q` at both ends and nowhere else. */
function hasSurroundedQuote(s: string, q: string): boolean {
  return s.length >= 2 && s[0] === q && s[s.length - 1] === q && s.indexOf(q, 1) === s.length - 1
}

class IniParser {
  private readonly reader: LineReader
  /** Comment lines (and inline comments) waiting for the next section or key. */
  private comment = ''
  /** Auto-increment counter for `-` keys, reset per section. */
  private count = 1
  private section: IniSection = newSection(DEFAULT_SECTION)
  readonly sections: IniSection[] = [this.section]

  constructor(text: string) {
    this.reader = new LineReader(text)
  }

  parse(): IniSection[] {
    while (!this.reader.eof) {
      const startLine = this.reader.lineNo + 1
      const line = trimLeftSpace(this.reader.readLine())
      if (line === '') continue
      if (line[0] === '#' || line[0] === ';') {
        // Kept with its newline; the buffer is trimmed once when it is attached.
        this.comment += line
      } else if (line[0] === '[') {
        this.parseSectionHeader(line, startLine)
      } else {
        this.parseKeyLine(line, startLine)
      }
    }
    return this.sections
  }

  private parseSectionHeader(line: string, lineNo: number): void {
    const close = line.lastIndexOf(']')
    if (close === -1) throw parseError('unclosed section header', lineNo)
    const name = line.slice(1, close)
    if (name === '') throw parseError('empty section name', lineNo)
    this.section = newSection(name)
    this.sections.push(this.section)
    const inline = cleanComment(line.slice(close + 1))
    if (inline !== undefined) this.comment += inline
    this.section.comment = trimSpace(this.comment)
    this.comment = ''
    this.count = 1
  }

  private parseKeyLine(line: string, lineNo: number): void {
    const { name: rawName, offset } = readKeyName(line, lineNo)
    const name = rawName === '-' ? `#${this.count++}` : rawName
    const value = this.readValue(line.slice(offset), lineNo)
    if (name === '') throw parseError('error creating new key: empty key name', lineNo)
    const key = newKey(this.section, name, value)
    key.comment = trimSpace(this.comment)
    this.comment = ''
  }

  private readValue(raw: string, lineNo: number): string {
    let line = trimLeftSpace(raw)
    if (line === '') return ''
    const quote = byteLength(line) > 3 && line.startsWith('"""') ? '"""' : line[0] === '`' ? '`' : ''
    if (quote !== '') {
      const body = line.slice(quote.length)
      const close = body.lastIndexOf(quote)
      // Text after the closing quote is dropped, as in go-ini.
      if (close !== -1) return body.slice(0, close)
      return this.readMultilines(body, quote, lineNo)
    }
    line = trimSpace(line)
    if (line.endsWith('\\')) return this.readContinuationLines(line.slice(0, -1))
    const hash = indexAny(line, '#;')
    if (hash !== -1) {
      this.comment += line.slice(hash)
      line = trimSpace(line.slice(0, hash))
    }
    if (hasSurroundedQuote(line, "'") || hasSurroundedQuote(line, '"')) line = line.slice(1, -1)
    return line
  }

  /** `"""…"""` or backticks spanning lines: raw text, newlines kept, until the last closing quote on a line. */
  private readMultilines(first: string, quote: string, lineNo: number): string {
    let value = first
    for (;;) {
      const next = this.reader.readLine()
      const close = next.lastIndexOf(quote)
      if (close !== -1) {
        const inline = cleanComment(next.slice(close))
        if (inline !== undefined) this.comment += trimSpace(inline)
        return value + next.slice(0, close)
      }
      value += next
      if (this.reader.eof) throw parseError(`missing closing ${quote} of a multi-line value`, lineNo)
    }
  }

  /**
   * A trailing `\` joins the next (trimmed) line, until a line without one or an empty line.
   * The parts are joined once: slicing the `\` off a growing string copied it per line.
   */
  private readContinuationLines(first: string): string {
    const parts = [first]
    for (;;) {
      const next = trimSpace(this.reader.readLine())
      if (next === '') break
      if (!next.endsWith('\\')) {
        parts.push(next)
        break
      }
      parts.push(next.slice(0, -1))
    }
    return parts.join('')
  }
}

/** go-ini readKeyName: the (optionally quoted) key and the offset just past its delimiter. */
function readKeyName(line: string, lineNo: number): { name: string; offset: number } {
  const quote = line[0] === '"' ? (byteLength(line) > 6 && line.startsWith('"""') ? '"""' : '"') : line[0] === '`' ? '`' : ''
  if (quote !== '') {
    const start = quote.length
    const close = line.indexOf(quote, start)
    if (close === -1) throw parseError('missing closing key quote', lineNo)
    // go-ini skips quote.length characters after the closing quote before looking for `=`/`:`.
    const i = indexAny(line.slice(close + start), DELIMITERS)
    if (i === -1) throw parseError('key-value delimiter not found', lineNo)
    return { name: trimSpace(line.slice(start, close)), offset: close + i + start + 1 }
  }
  const end = indexAny(line, DELIMITERS)
  if (end === -1) throw parseError('key-value delimiter not found', lineNo)
  if (end === 0) throw parseError('empty key name', lineNo)
  return { name: trimSpace(line.slice(0, end)), offset: end + 1 }
}

// ---- go-ini sections <-> sops tree ---------------------------------------------------------

/** sops stripCommentChar: drop the leading `;`/`#` and spaces (only of the first line). */
function stripCommentChar(comment: string): string {
  if (comment.startsWith(';')) return trimLeftChars(comment, '; ')
  if (comment.startsWith('#')) return trimLeftChars(comment, '# ')
  return comment
}

function sectionToTree(section: IniSection): TreeMap {
  const items: MapItem[] = []
  if (section.comment !== '') items.push(new Comment(stripCommentChar(section.comment)))
  for (const key of section.keys.values()) {
    items.push({ key: key.name, value: key.value })
    if (key.comment !== '') items.push(new Comment(stripCommentChar(key.comment)))
  }
  return new TreeMap(items)
}

function decode(bytes: Uint8Array): string {
  // go-ini drops a UTF-8 BOM, and the two bytes of a UTF-16 one.
  let start = 0
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3
  else if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) start = 2
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start))
  } catch {
    throw new FormatError('Could not unmarshal input data: invalid UTF-8')
  }
}

/** Take the `[sops]` section out of the tree: its flat keys, `\n` escapes undone, unflattened. */
function extractMetadata(root: TreeMap): TreeMap | undefined {
  const found = root.entries().filter((e) => e.key === SOPS_SECTION)
  if (found.length === 0) return undefined
  if (found.length > 1) throw new FormatError(`Found duplicate ${SOPS_SECTION} entry`)
  root.delete(SOPS_SECTION)
  const section = found[0]!.value
  if (!(section instanceof TreeMap)) throw new FormatError(`Found ${SOPS_SECTION} entry that is not a mapping`)
  // The unescape also leaves the 3.13.0/3.13.1 form (real newlines inside """…""") as it is.
  return unflatten(section.entries().map(({ key, value }) => ({ key, value: typeof value === 'string' ? value.replaceAll('\\n', '\n') : value })))
}

function parse(bytes: Uint8Array): Document {
  const sections = new IniParser(decode(bytes)).parse()
  const root = new TreeMap(sections.map((s) => ({ key: s.name, value: sectionToTree(s) })))
  const metadata = extractMetadata(root)
  return { branches: [root], metadata }
}

// ---- emitting (sops encodeTree + go-ini writeToBuffer) -------------------------------------

function sectionFromTree(name: string, value: Value): IniSection {
  if (name === '') throw new EmitError('Error encoding section : empty section name')
  if (!(value instanceof TreeMap)) throw new EmitError('Error encoding section: Section values should always be TreeBranches')
  const section = newSection(name)
  const items = value.items
  let first = 0
  if (items[0] instanceof Comment) {
    section.comment = items[0].text
    first = 1
  }
  let last: IniKey | undefined
  for (const item of items.slice(first)) {
    // A comment belongs to the key before it; a later comment replaces an earlier one (sops).
    if (item instanceof Comment) {
      if (last) last.comment = item.text
      continue
    }
    if (item.key === '') throw new EmitError(`Error encoding key: empty key name in section ${name}`)
    if (item.value instanceof TreeMap || item.value instanceof TreeSeq) {
      throw new EmitError(`cannot use complex value in INI file; offending key ${item.key} in section ${name}`)
    }
    last = newKey(section, item.key, valToString(item.value))
  }
  return section
}

/** The `[sops]` section: flat keys, every string's newlines written as the two characters `\n`. */
function metadataSection(metadata: TreeMap): IniSection {
  const section = newSection(SOPS_SECTION)
  for (const { key, value } of flatten(metadata)) {
    newKey(section, key, typeof value === 'string' ? value.replaceAll('\n', '\\n') : valToString(value))
  }
  return section
}

function sectionsFromDoc(doc: Document): IniSection[] {
  const sections: IniSection[] = []
  for (const branch of doc.branches) {
    for (const item of branch.entries()) {
      if (doc.metadata && item.key === SOPS_SECTION) {
        throw new EmitError(`Found key "${SOPS_SECTION}" in encrypted data, which is a reserved key used for SOPS metadata`)
      }
      sections.push(sectionFromTree(item.key, item.value))
    }
  }
  if (doc.metadata) sections.push(metadataSection(doc.metadata))
  return sections
}

/** A comment line as go-ini writes it. Go panics on an empty line; a bare `;` keeps the file readable. */
function commentLine(line: string, trimBody: boolean): string {
  if (line === '') return ';'
  if (line[0] !== '#' && line[0] !== ';') return '; ' + (trimBody ? trimSpace(line) : line)
  return line[0] + ' ' + trimSpace(line.slice(1))
}

function writeComment(comment: string, trimBody: boolean): string {
  if (comment === '') return ''
  return comment
    .split('\n')
    .map((l) => commentLine(l, trimBody) + '\n')
    .join('')
}

/** Keys that would not read back bare are wrapped: backticks for `"`/`=`/`:`, `"""` for a backtick. */
function keyText(name: string): string {
  if (name.includes('"') || indexAny(name, DELIMITERS) !== -1) return '`' + name + '`'
  if (name.includes('`')) return '"""' + name + '"""'
  return name
}

/** Values that would not read back bare: `"""` for newlines/backticks, backticks for comment chars, `"` for edge spaces. */
function valueText(value: string): string {
  if (value.includes('\n') || value.includes('`')) return '"""' + value + '"""'
  if (indexAny(value, '#;') !== -1) return '`' + value + '`'
  if (trimSpace(value) !== value) return '"' + value + '"'
  return value
}

function writeKeys(section: IniSection): string {
  const keys = [...section.keys.values()].map((k) => ({ key: k, text: keyText(k.name) }))
  // PrettyFormat: `=` aligned one space after the longest key (lengths in bytes, as in Go).
  // A loop: Math.max(...lengths) overflows the call stack on ~120,000 keys.
  let align = 0
  for (const k of keys) align = Math.max(align, byteLength(k.text))
  return keys
    .map(({ key, text }) => writeComment(key.comment, true) + text + ' '.repeat(align - byteLength(text)) + ' = ' + valueText(key.value) + '\n')
    .join('')
}

function writeSections(sections: IniSection[]): string {
  let out = ''
  sections.forEach((section, i) => {
    out += writeComment(section.comment, false)
    // The first section is headerless if it is DEFAULT, and skipped entirely if also empty.
    if (i > 0 || section.name.toUpperCase() !== DEFAULT_SECTION) out += `[${section.name}]\n`
    else if (section.keys.size === 0) return
    out += writeKeys(section)
    if (i < sections.length - 1) out += '\n'
  })
  return out
}

function emit(doc: Document): Uint8Array {
  return emitting('Error marshaling to INI: ', () => new TextEncoder().encode(writeSections(sectionsFromDoc(doc))))
}

/**
 * `--extract` of a non-map value. sops's INI store JSON-encodes it; strings are printed raw by
 * sops's extract before the store is asked, and are here too.
 */
function emitValue(value: Value): Uint8Array {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
  if (typeof value === 'string') return enc(value)
  if (value === null) return enc('null')
  if (typeof value === 'bigint' || typeof value === 'boolean') return enc(String(value))
  if (typeof value === 'number' && Number.isFinite(value)) return enc(formatFloatJSON(value))
  if (value instanceof Timestamp) return enc(JSON.stringify(value.text))
  throw new EmitError(`the ini store cannot emit a value of type ${typeName(value)}`)
}

function hasMetadataKey(doc: Document): boolean {
  if (doc.metadata) return true
  return doc.branches.some((b) => b.entries().some((e) => e.key === SOPS_SECTION))
}

export const iniFormat: Format = {
  name: 'ini',
  capabilities: { rawStrings: false, comments: true, multipleDocuments: false, encryptionRules: true, example: 'simple-tree' },
  extensions: ['.ini'],
  parse,
  emit,
  emitValue,
  hasMetadataKey,
}
