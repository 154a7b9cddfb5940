/**
 * YAML text -> sops tree, reproducing stores/yaml LoadPlainFile on top of yaml.v3.
 *
 * The `yaml` package parses the syntax (failsafe schema, so every scalar keeps its source
 * value and style); typing is yaml.v3's resolve() (yaml-resolve.ts). Comments are read from the
 * lexer and placed by position, following what yaml.v3 + sops produce: a comment line belongs
 * to the innermost block collection whose items sit at the comment's indentation (or that
 * surrounds it), before the first item that starts after it; an end-of-line comment is placed
 * just before the entry on its line, marked inline when that entry's value is a scalar.
 */
import { type Alias, Lexer, type Pair, type Scalar as YScalar, type YAMLMap, type YAMLSeq, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document as YDocument, type Node as YNodeT } from 'yaml'
import type { CST } from 'yaml'
import { FormatError } from '../core/errors.js'
import { Comment, Timestamp as TimestampValue, TreeMap, TreeSeq, cloneValue, type MapItem, type Scalar, type SeqItem, type Value } from '../core/tree.js'
import { resolvePlain, type Resolved } from './yaml-resolve.js'
import { parseSimpleYaml } from './yaml-simple.js'
import { asYaml12Breaks, decodeYaml11Scalar, needsYaml11Decoding, type ScalarStyle } from './yaml-breaks.js'

export interface ParsedYaml {
  branches: TreeMap[]
  metadata: TreeMap | undefined
  /** Whether any document has a top-level `sops` key (encrypt refuses such plaintexts). */
  hasSopsKey: boolean
}

// ---- source positions ------------------------------------------------------------------------

class Source {
  private starts: number[] | undefined
  /** What the `yaml` package reads: `original` with yaml.v3's other line breaks as `\n` (yaml-breaks.ts). */
  readonly text: string
  /** Whether `text` differs from `original` (a flag: comparing the strings would cost their length). */
  readonly hasYaml11Breaks: boolean
  constructor(readonly original: string) {
    this.text = asYaml12Breaks(original)
    this.hasYaml11Breaks = this.text !== original
  }
  /** Line start offsets, computed on first use: files without comments or errors never need them. */
  private get lineStarts(): number[] {
    if (this.starts) return this.starts
    const starts = [0]
    for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1)
    this.starts = starts
    return starts
  }
  line(offset: number): number {
    const lineStarts = this.lineStarts
    let lo = 0
    let hi = lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (lineStarts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  col(offset: number): number {
    return offset - this.lineStarts[this.line(offset)]!
  }
  /** Is there anything but blanks between the start of the line and this offset? */
  contentBefore(offset: number): boolean {
    const start = this.lineStarts[this.line(offset)]!
    return this.text.slice(start, offset).trim().length > 0
  }
}

interface SourceComment {
  offset: number
  line: number
  col: number
  text: string
  trailing: boolean
}

/** Every comment token of the stream. Lexer control tokens are not part of the source text. */
function lexComments(src: Source): SourceComment[] {
  const comments: SourceComment[] = []
  // No '#' anywhere means no comment token: skip the second lexing pass (most encrypted files).
  if (!src.text.includes('#')) return comments
  let offset = 0
  for (const token of new Lexer().lex(src.text)) {
    if (token === '\x02' || token === '\x18' || token === '\x1f') continue
    if (token.startsWith('#')) {
      comments.push({
        offset,
        line: src.line(offset),
        col: src.col(offset),
        // yaml.v3 stops a comment at the line break, so a CRLF file leaves no `\r` in it.
        text: token.slice(1).replace(/\r$/, ''),
        trailing: src.contentBefore(offset),
      })
    }
    offset += token.length
  }
  return comments
}

// ---- layout: containers with positioned items --------------------------------------------------

interface Slot {
  key: number
  order: number
  item: MapItem | SeqItem
  /** Position in the target's items once finish() has run. */
  index?: number
}

interface Container {
  flow: boolean
  /** Column of the items: keys of a map, `-` of a sequence. */
  col: number
  startLine: number
  startOffset: number
  endLine: number
  entries: Entry[]
  slots: Slot[]
  target: TreeMap | TreeSeq
}

interface Entry {
  startLine: number
  startOffset: number
  endLine: number
  /** The nested collection when the value is one (aliases are treated like scalars). */
  child: Container | undefined
}

/** Deferred alias copies: filled once comments are placed, so copies carry them too. */
interface AliasFixup {
  source: YNodeT
  apply: (v: Value) => void
}

class Builder {
  private order = 0
  readonly built = new Map<YNodeT, Value>()
  readonly aliases: AliasFixup[] = []

  constructor(
    private readonly src: Source,
    private readonly doc: YDocument,
  ) {}

  private lineEnd(node: YNodeT): number {
    const [start, valueEnd] = node.range ?? [0, 0]
    return this.src.line(valueEnd > start ? valueEnd - 1 : start)
  }

  slot(c: Container, key: number, item: MapItem | SeqItem): void {
    c.slots.push({ key, order: this.order++, item })
  }

  newContainer(node: YAMLMap | YAMLSeq, target: TreeMap | TreeSeq, firstItemOffset: number): Container {
    const start = node.range?.[0] ?? 0
    return {
      flow: node.flow === true,
      col: this.src.col(firstItemOffset),
      startLine: this.src.line(firstItemOffset),
      startOffset: start,
      endLine: this.src.line(start),
      entries: [],
      slots: [],
      target,
    }
  }

  /** Converts a value node; returns the tree value and, for collections, its container. */
  value(node: YNodeT | null, parentIndent: number, set: (v: Value) => void): { child: Container | undefined; endLine: number } {
    if (node === null) {
      set(null)
      return { child: undefined, endLine: 0 }
    }
    if (isAlias(node)) return this.alias(node, set)
    if (isMap(node)) return this.map(node, set)
    if (isSeq(node)) return this.seq(node, set)
    if (isScalar(node)) {
      const v = scalarValue(node, this.src, parentIndent)
      this.built.set(node, v)
      set(v)
      return { child: undefined, endLine: this.lineEnd(node) }
    }
    throw new FormatError('unsupported YAML node')
  }

  private alias(node: Alias, set: (v: Value) => void): { child: undefined; endLine: number } {
    const target = node.resolve(this.doc)
    if (!target) {
      const [line, col] = this.pos(node)
      throw new FormatError(`unknown anchor '${node.source}' referenced`, line, col)
    }
    set(null)
    this.aliases.push({ source: target, apply: set })
    return { child: undefined, endLine: this.lineEnd(node) }
  }

  pos(node: YNodeT): [number, number] {
    const off = node.range?.[0] ?? 0
    return [this.src.line(off) + 1, this.src.col(off) + 1]
  }

  map(node: YAMLMap, set: (v: Value) => void): { child: Container; endLine: number } {
    const target = new TreeMap()
    this.built.set(node, target)
    set(target)
    const first = node.items[0]
    // An explicit key's items sit at its `?` (comments at that column belong to this map).
    const firstOffset = explicitKeyOffset(node) ?? (first?.key as YNodeT | null)?.range?.[0] ?? node.range?.[0] ?? 0
    const c = this.newContainer(node, target, firstOffset)
    for (const pair of node.items as Pair<YNodeT | null, YNodeT | null>[]) {
      const key = mapKey(pair, this.src, c.col)
      const keyOffset = pair.key?.range?.[0] ?? pair.value?.range?.[0] ?? c.startOffset
      const entry = { key, value: null as Value }
      const res = this.value(pair.value, c.col, (v) => (entry.value = v))
      const keyLine = this.src.line(keyOffset)
      const e: Entry = { startLine: keyLine, startOffset: keyOffset, endLine: Math.max(keyLine, res.endLine), child: res.child }
      c.entries.push(e)
      this.slot(c, keyOffset, entry)
    }
    c.endLine = lastLine(c)
    return { child: c, endLine: c.endLine }
  }

  seq(node: YAMLSeq, set: (v: Value) => void): { child: Container; endLine: number } {
    const target = new TreeSeq()
    this.built.set(node, target)
    set(target)
    const indicators = seqIndicatorOffsets(node)
    const items = node.items as (YNodeT | null)[]
    const itemOffset = (i: number): number => indicators[i] ?? items[i]?.range?.[0] ?? node.range?.[0] ?? 0
    const c = this.newContainer(node, target, itemOffset(0))
    items.forEach((item, i) => {
      const slot: Slot = { key: itemOffset(i), order: 0, item: null }
      // An alias is filled in after finish() has copied the slots into the target: write through.
      const res = this.value(item, c.col, (v) => {
        slot.item = v
        if (slot.index !== undefined) target.items[slot.index] = v
      })
      const startLine = this.src.line(slot.key)
      c.entries.push({ startLine, startOffset: slot.key, endLine: Math.max(startLine, res.endLine), child: res.child })
      slot.order = this.order++
      c.slots.push(slot)
    })
    c.endLine = lastLine(c)
    return { child: c, endLine: c.endLine }
  }
}

/** The container's last line. A loop: Math.max(...entries) overflows the stack on ~120k entries. */
function lastLine(c: Container): number {
  let end = c.startLine
  for (const e of c.entries) if (e.endLine > end) end = e.endLine
  return end
}

/** The offset of the `?` before a block mapping's first key, from its CST token, if it has one. */
function explicitKeyOffset(node: YAMLMap): number | undefined {
  const tok = node.srcToken
  if (!tok || tok.type !== 'block-map') return undefined
  return (tok as CST.BlockMap).items[0]?.start.find((t) => t.type === 'explicit-key-ind')?.offset
}

/** The offsets of the `-` indicators of a block sequence, from its CST token. */
function seqIndicatorOffsets(node: YAMLSeq): number[] {
  const tok = node.srcToken
  if (!tok || tok.type !== 'block-seq') return []
  const out: number[] = []
  for (const item of (tok as CST.BlockSequence).items) {
    const ind = item.start.find((t) => t.type === 'seq-item-ind')
    if (ind) out.push(ind.offset)
  }
  return out
}

// ---- scalar typing (yaml.v3 decoder.scalar) ---------------------------------------------------

const LONG_TAG = 'tag:yaml.org,2002:'

function shortTag(tag: string | undefined): string {
  if (!tag || tag === '!') return ''
  return tag.startsWith(LONG_TAG) ? '!!' + tag.slice(LONG_TAG.length) : tag
}

/**
 * The text of a scalar as yaml.v3 reads it: the `yaml` package's value, unless yaml.v3's own
 * line breaks make it differ (yaml-breaks.ts). `parentIndent`: the column of the enclosing
 * block collection, which an explicit block scalar indentation indicator counts from.
 */
function scalarText(node: YScalar, src: Source | undefined, parentIndent: number): string {
  const value = String(node.value ?? '')
  const [start, end] = node.range ?? [0, 0]
  if (!src || (!src.hasYaml11Breaks && end < src.original.length)) return value
  const style = (node.type ?? 'PLAIN') as ScalarStyle
  if (!needsYaml11Decoding(src.original, style, start, end)) return value
  return decodeYaml11Scalar(src.original, style, start, end, parentIndent)
}

/** The value yaml.v3 decodes a scalar node to (into interface{}). */
function scalarValue(node: YScalar, src: Source | undefined, parentIndent = -1): Scalar {
  const r = resolveNode(node, src, parentIndent)
  switch (r.tag) {
    case 'null':
    case 'bool':
    case 'float':
    case 'str':
      return r.value
    case 'int':
      return r.value
    case 'timestamp':
      return new TimestampValue(r.value)
    case 'uint': {
      const [line, col] = src ? [src.line(node.range?.[0] ?? 0) + 1, src.col(node.range?.[0] ?? 0) + 1] : [undefined, undefined]
      // sops's own message; the number itself is not repeated (values never appear in messages).
      throw new FormatError('Cannot walk value, unknown type: uint64 (the integer does not fit in int64)', line, col)
    }
  }
}

function resolveNode(node: YScalar, src: Source | undefined, parentIndent: number): Resolved {
  const value = scalarText(node, src, parentIndent)
  const tag = shortTag(node.tag)
  const quoted = node.type !== undefined && node.type !== 'PLAIN'
  if (tag === '!!str' || (tag === '' && quoted)) return { tag: 'str', value }
  if (tag === '') return resolvePlain(value)
  if (tag === '!!binary') return { tag: 'str', value: decodeBinary(value, node, src) }
  const explicit: Record<string, Resolved['tag']> = { '!!null': 'null', '!!bool': 'bool', '!!int': 'int', '!!float': 'float', '!!timestamp': 'timestamp' }
  const want = explicit[tag]
  // Unknown tags (`!foo`, `!!map` on a scalar...) leave the value a string, as in yaml.v3.
  if (want === undefined) return { tag: 'str', value }
  // An explicit tag other than !!timestamp stops yaml.v3 from trying timestamps first.
  const r = resolvePlain(value, want === 'timestamp')
  if (r.tag === want || (want === 'int' && r.tag === 'uint')) return r
  if (want === 'float' && r.tag === 'int') return { tag: 'float', value: Number(r.value) }
  const off = node.range?.[0] ?? 0
  // The value is not quoted (yaml.v3 does): it may be the very secret being encrypted.
  throw new FormatError(`cannot decode ${r.tag === 'uint' ? '!!int' : '!!' + r.tag} value as a ${tag}`, src ? src.line(off) + 1 : undefined, src ? src.col(off) + 1 : undefined)
}

/** Go base64.StdEncoding.DecodeString: strict padding, only CR/LF ignored. */
function decodeBinary(text: string, node: YScalar, src: Source | undefined): string {
  const b64 = text.replace(/[\r\n]/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    const off = node.range?.[0] ?? 0
    throw new FormatError('!!binary value contains invalid base64 data', src ? src.line(off) + 1 : undefined, src ? src.col(off) + 1 : undefined)
  }
  return new TextDecoder().decode(Buffer.from(b64, 'base64'))
}

function goTypeName(r: Scalar | Value): string {
  if (r === null) return '<nil>'
  if (typeof r === 'bigint') return 'int'
  if (typeof r === 'number') return 'float64'
  if (typeof r === 'boolean') return 'bool'
  if (r instanceof TimestampValue) return 'time.Time'
  if (r instanceof TreeMap) return 'map[string]interface {}'
  if (r instanceof TreeSeq) return '[]interface {}'
  return 'string'
}

function mapKey(pair: Pair<YNodeT | null, YNodeT | null>, src: Source, parentIndent: number): string {
  const key = pair.key
  const at = key?.range?.[0] ?? pair.value?.range?.[0] ?? 0
  let v: Value
  if (key === null) v = null
  else if (isScalar(key)) v = scalarValue(key, src, parentIndent)
  else if (isMap(key)) v = new TreeMap()
  else if (isSeq(key)) v = new TreeSeq()
  else v = null
  if (typeof v === 'string') return v
  const shown = v === null ? '<nil>' : v instanceof TreeMap || v instanceof TreeSeq ? String(key) : String(v)
  throw new FormatError(`Tree contains a non-string key (type ${goTypeName(v)}): ${shown}. Only string keys are supported`, src.line(at) + 1, src.col(at) + 1)
}

// ---- comment placement -----------------------------------------------------------------------

/**
 * The last entry starting before `line` (or on it, when `onLine`). Entries are in source order,
 * so a binary search: a scan back from the end made n comments in a map of n keys quadratic.
 */
function lastEntryBefore(c: Container, line: number, onLine: boolean): Entry | undefined {
  let lo = 0
  let hi = c.entries.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    const start = c.entries[mid]!.startLine
    if (start < line || (onLine && start === line)) lo = mid + 1
    else hi = mid
  }
  return lo > 0 ? c.entries[lo - 1] : undefined
}

/** A comment on a line of its own. */
function placeLine(b: Builder, c: Container, cm: SourceComment): void {
  const prev = lastEntryBefore(c, cm.line, false)
  const child = prev?.child
  if (child) {
    const inside = cm.line <= child.endLine
    // A sequence written at its parent key's indentation ends where the key's siblings resume.
    const unindentedSeq = child.target instanceof TreeSeq && child.col === c.col && !c.flow
    if (child.flow ? inside : inside || (cm.col >= child.col && !unindentedSeq)) {
      return placeLine(b, child, cm)
    }
  }
  b.slot(c, cm.offset, new Comment(cm.text))
}

/** A comment at the end of a line that has content. */
function placeTrailing(b: Builder, c: Container, cm: SourceComment): void {
  const entry = lastEntryBefore(c, cm.line, true)
  if (!entry || cm.line > entry.endLine) return placeLine(b, c, cm)
  const child = entry.child
  if (child && !child.flow) {
    // `- k: v # c` / `- - x # c`: the nested collection starts on this line.
    if (child.startLine === cm.line || cm.line > entry.startLine) return placeTrailing(b, child, cm)
    // `key: # c` above an indented block: the key's line comment, not inline.
    return b.slot(c, entry.startOffset - 0.5, new Comment(cm.text))
  }
  if (child) {
    // Flow collection: after its closing bracket it is the collection's line comment (first
    // item of the collection); inside it, ordered among its items.
    if (cm.line === child.endLine && cm.line === entry.endLine) return b.slot(child, child.startOffset - 0.5, new Comment(cm.text))
    return b.slot(child, cm.offset, new Comment(cm.text))
  }
  b.slot(c, entry.startOffset - 0.5, new Comment(cm.text, true))
}

function finish(c: Container): void {
  c.slots.sort((x, y) => x.key - y.key || x.order - y.order)
  c.slots.forEach((s, i) => (s.index = i))
  if (c.target instanceof TreeMap) c.target.items = c.slots.map((s) => s.item as MapItem)
  else c.target.items = c.slots.map((s) => s.item as SeqItem)
}

function allContainers(c: Container, out: Container[] = []): Container[] {
  out.push(c)
  for (const e of c.entries) if (e.child) allContainers(e.child, out)
  return out
}

// ---- documents -------------------------------------------------------------------------------

function formatErrorOf(doc: YDocument): FormatError | undefined {
  const err = doc.errors[0]
  if (!err) return undefined
  const pos = err.linePos?.[0]
  const message = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '')
  return new FormatError(`Error unmarshaling input YAML: ${isStackOverflow(message) ? NESTED_TOO_DEEPLY : message}`, pos?.line, pos?.col)
}

/**
 * The `yaml` package recurses per nesting level and reports a stack overflow as a document
 * error (somewhere past 1,000 levels; yaml.v3 stops at 10,000). Say what it means.
 */
export const NESTED_TOO_DEEPLY = 'document is nested too deeply'

export function isStackOverflow(message: string): boolean {
  return message.startsWith('Maximum call stack size exceeded')
}

/** More duplicate-key lines than this are summarised (100,000 copies of one key are 5e9 pairs). */
const MAX_DUPLICATE_KEY_ERRORS = 100

/**
 * yaml.v3 rejects duplicate keys (by their raw text) in every mapping of the first document,
 * listing every pair (i < j) in order. Keys are grouped by text first, so a mapping with many
 * keys costs linear time, not one comparison per pair.
 */
function checkDuplicateKeys(node: unknown, src: Source): void {
  if (isMap(node)) {
    const pairs = node.items as Pair<YNodeT | null, YNodeT | null>[]
    const duplicates = sameKeyGroups(pairs, src)
    const errors: string[] = []
    let more = 0
    let firstLine: number | undefined
    pairs.forEach((pi, i) => {
      const dup = duplicates[i]
      for (let k = (dup?.at ?? 0) + 1; dup && k < dup.group.length; k++) {
        if (errors.length === MAX_DUPLICATE_KEY_ERRORS) {
          more += dup.group.length - k
          break
        }
        const a = pi.key as YScalar
        const bk = pairs[dup.group[k]!]!.key as YScalar
        const lj = src.line(bk.range?.[0] ?? 0) + 1
        firstLine ??= lj
        errors.push(`line ${lj}: mapping key ${JSON.stringify(scalarText(a, src, -1))} already defined at line ${src.line(a.range?.[0] ?? 0) + 1}`)
      }
      checkDuplicateKeys(pi.value, src)
    })
    if (more > 0) errors.push(`… and ${more} more`)
    if (errors.length > 0) throw new FormatError(`yaml: unmarshal errors:\n  ${errors.join('\n  ')}`, firstLine)
  } else if (isSeq(node)) {
    for (const item of node.items) checkDuplicateKeys(item, src)
  }
}

/** For each pair whose scalar key text occurs more than once: the indices with that text and its place among them. */
function sameKeyGroups(pairs: Pair<YNodeT | null, YNodeT | null>[], src: Source): ({ group: number[]; at: number } | undefined)[] {
  const byText = new Map<string, number[]>()
  pairs.forEach((p, i) => {
    if (!p.key || !isScalar(p.key)) return
    const text = scalarText(p.key, src, -1)
    const group = byText.get(text)
    if (group) group.push(i)
    else byText.set(text, [i])
  })
  const out: ({ group: number[]; at: number } | undefined)[] = []
  for (const group of byText.values()) {
    if (group.length > 1) group.forEach((i, at) => (out[i] = { group, at }))
  }
  return out
}

/** One document -> one branch, with its comments placed. */
function documentBranch(doc: YDocument, src: Source, comments: SourceComment[], budget: AliasBudget): TreeMap {
  const b = new Builder(src, doc)
  const contents = doc.contents as YNodeT | null
  let root: Container
  if (contents && isMap(contents)) {
    root = b.map(contents, () => {}).child
  } else if (contents && isSeq(contents)) {
    throw new FormatError('Error unmarshaling input YAML: YAML documents that are sequences are not supported', ...b.pos(contents))
  } else if (contents && !(isScalar(contents) && scalarValue(contents, src) === null)) {
    throw new FormatError('Error unmarshaling input YAML: YAML documents that are values are not supported', ...b.pos(contents))
  } else {
    root = { flow: false, col: 0, startLine: 0, startOffset: 0, endLine: 0, entries: [], slots: [], target: new TreeMap() }
  }
  for (const cm of comments) {
    if (cm.trailing) placeTrailing(b, root, cm)
    else placeLine(b, root, cm)
  }
  for (const c of allContainers(root)) finish(c)
  for (const fix of b.aliases) {
    const v = b.built.get(fix.source)
    if (v !== undefined) budget.spend(nodeCount(v))
    fix.apply(v === undefined ? null : cloneValue(v))
  }
  return root.target as TreeMap
}

/**
 * Nodes that alias expansion may create in one stream. Each alias is a copy, so ten anchors of
 * ten aliases each make 10^10 nodes from a few hundred bytes ("billion laughs"); yaml.v3 stops
 * those with the same message.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000

class AliasBudget {
  private spent = 0
  spend(nodes: number): void {
    this.spent += nodes
    if (this.spent > MAX_ALIAS_EXPANSION) throw new FormatError('Error unmarshaling input YAML: yaml: document contains excessive aliasing')
  }
}

/** Containers and leaves in a value, counted without recursion. */
function nodeCount(v: Value): number {
  let count = 0
  const pending: (Value | Comment)[] = [v]
  while (pending.length > 0) {
    const x = pending.pop()!
    count++
    if (x instanceof TreeMap) for (const i of x.items) pending.push(i instanceof Comment ? i : i.value)
    else if (x instanceof TreeSeq) for (const i of x.items) pending.push(i)
  }
  return count
}

/**
 * Comments belong to the last document that starts at or before them (else the first). Both
 * lists are in source order, so one forward pass assigns them (not documents × comments).
 */
function commentsByDocument(docs: YDocument[], comments: SourceComment[]): SourceComment[][] {
  const out: SourceComment[][] = docs.map(() => [])
  let idx = 0
  for (const cm of comments) {
    while (idx + 1 < docs.length && (docs[idx + 1]!.range?.[0] ?? 0) <= cm.offset) idx++
    out[idx]?.push(cm)
  }
  return out
}

/** `simple: false` skips the fast reader (yaml-simple.ts); tests compare the two. */
export function parseYamlText(text: string, options: { simple?: boolean } = {}): ParsedYaml {
  const simple = options.simple === false ? undefined : parseSimpleYaml(text)
  if (simple) return extractMetadata([simple])
  const src = new Source(text)
  // CST tokens serve comment placement and the columns of `-` indicators (which block scalars
  // decoded by yaml-breaks.ts count from); without them they would be kept for nothing.
  const keepSourceTokens = text.includes('#') || src.hasYaml11Breaks || !/[\n\r]$/.test(text)
  const parsed = parseAllDocuments(src.text, { schema: 'failsafe', resolveKnownTags: false, keepSourceTokens, uniqueKeys: false, merge: false })
  const docs = Array.isArray(parsed) ? (parsed as YDocument[]) : []
  for (const d of docs) {
    const err = formatErrorOf(d)
    if (err) throw err
  }
  if (docs.length === 0) return { branches: [], metadata: undefined, hasSopsKey: false }
  checkDuplicateKeys(docs[0]!.contents, src)
  const grouped = commentsByDocument(docs, lexComments(src))
  const budget = new AliasBudget()
  const branches = docs.map((d, i) => documentBranch(d, src, grouped[i]!, budget))
  return extractMetadata(branches)
}

/**
 * sops ExtractMetadata: the first document's top-level `sops` mapping is the metadata and
 * `sops` is stripped from every document. A `sops` key that is not a mapping stays in place
 * (the core then reports missing metadata; encrypt refuses it as already encrypted).
 */
function extractMetadata(branches: TreeMap[]): ParsedYaml {
  const hasSopsKey = branches.some((b) => b.entry('sops') !== undefined)
  const meta = branches[0]?.get('sops')
  if (!(meta instanceof TreeMap)) return { branches, metadata: undefined, hasSopsKey }
  for (const b of branches) b.delete('sops')
  return { branches, metadata: meta, hasSopsKey }
}
