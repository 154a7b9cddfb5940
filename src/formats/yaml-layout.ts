/**
 * The parsed YAML as containers with positioned items, and the placement of comments among them
 * (yaml-parse.ts's header says the rules): the Builder turns the `yaml` package's nodes into sops
 * trees while remembering where each item starts and ends.
 */
import { type Alias, type Pair, type YAMLMap, type YAMLSeq, isAlias, isMap, isScalar, isSeq, type Document as YDocument, type Node as YNodeT } from 'yaml'
import type { CST } from 'yaml'
import { FormatError } from '../core/errors.js'
import { Comment, TreeMap, TreeSeq, type MapItem, type SeqItem, type Value } from '../core/tree.js'
import type { Source, SourceComment } from './yaml-source.js'
import { mapKey, scalarValue } from './yaml-scalars.js'

interface Slot {
  key: number
  order: number
  item: MapItem | SeqItem
  /** Position in the target's items once finish() has run. */
  index?: number
}

export interface Container {
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

export class Builder {
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
export function placeLine(b: Builder, c: Container, cm: SourceComment): void {
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
export function placeTrailing(b: Builder, c: Container, cm: SourceComment): void {
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

export function finish(c: Container): void {
  c.slots.sort((x, y) => x.key - y.key || x.order - y.order)
  c.slots.forEach((s, i) => (s.index = i))
  if (c.target instanceof TreeMap) c.target.items = c.slots.map((s) => s.item as MapItem)
  else c.target.items = c.slots.map((s) => s.item as SeqItem)
}

export function allContainers(c: Container, out: Container[] = []): Container[] {
  out.push(c)
  for (const e of c.entries) if (e.child) allContainers(e.child, out)
  return out
}
