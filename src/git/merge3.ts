/**
 * Three-way merge of decrypted trees at the level of key paths.
 *
 *  - Maps merge key by key, recursively; a key changed on one side only takes that side's value
 *    (added, changed or deleted). Both sides making the same change is no conflict.
 *  - Lists and scalars are whole values: changed differently on both sides is a conflict, as is
 *    a structure change on one side against any change on the other.
 *  - Order and comments follow ours; a key only theirs added goes after the key it follows in
 *    theirs.
 *
 * The merge is computed twice, resolving conflicts once with ours' and once with theirs' value,
 * so a conflict can be shown as two complete files that differ only where the sides disagree.
 */
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, cloneValue, type MapItem, type SeqItem, type Value } from '../core/tree.js'

export type Side = 'ours' | 'theirs'

/** A key absent from a map (distinct from a null value). */
type Maybe = Value | undefined

export function sameValue(a: Maybe, b: Maybe): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a === null || b === null) return a === b
  if (a instanceof TreeMap) return b instanceof TreeMap && sameItems(a.items, b.items)
  if (a instanceof TreeSeq) return b instanceof TreeSeq && sameItems(a.items, b.items)
  if (a instanceof Timestamp) return b instanceof Timestamp && a.text === b.text
  if (a instanceof Literal) return b instanceof Literal && a.raw === b.raw && a.typeTag === b.typeTag && sameValue(a.value, b.value)
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b))
  if (typeof a === 'number') return typeof b === 'number' && Object.is(a, b)
  return a === b
}

function sameItems(a: readonly (MapItem | SeqItem)[], b: readonly (MapItem | SeqItem)[]): boolean {
  if (a.length !== b.length) return false
  return a.every((x, i) => {
    const y = b[i]!
    if (x instanceof Comment || y instanceof Comment) return x instanceof Comment && y instanceof Comment && x.text === y.text && x.inline === y.inline
    if (isEntry(x) || isEntry(y)) return isEntry(x) && isEntry(y) && x.key === y.key && sameValue(x.value, y.value)
    return sameValue(x as Value, y as Value)
  })
}

/** Map entries are the only plain objects among items (values are scalars or class instances). */
function isEntry(x: MapItem | SeqItem): x is { key: string; value: Value } {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype
}

function keysOf(map: TreeMap | undefined): string[] {
  return map ? map.entries().map((e) => e.key) : []
}

class Merger {
  readonly conflicts: string[] = []
  constructor(private readonly pick: Side) {}

  value(base: Maybe, ours: Maybe, theirs: Maybe, path: readonly string[]): Maybe {
    if (sameValue(ours, theirs)) return ours === undefined ? undefined : cloneValue(ours)
    if (sameValue(base, ours)) return theirs === undefined ? undefined : cloneValue(theirs)
    if (sameValue(base, theirs)) return ours === undefined ? undefined : cloneValue(ours)
    if (ours instanceof TreeMap && theirs instanceof TreeMap && (base === undefined || base instanceof TreeMap)) {
      return this.map(base, ours, theirs, path)
    }
    this.conflicts.push(path.length ? path.join('.') : '(document)')
    const chosen = this.pick === 'ours' ? ours : theirs
    return chosen === undefined ? undefined : cloneValue(chosen)
  }

  map(base: TreeMap | undefined, ours: TreeMap, theirs: TreeMap, path: readonly string[]): TreeMap {
    const result = cloneValue(ours)
    for (const key of keysOf(ours)) {
      const merged = this.value(base?.get(key), ours.get(key), theirs.get(key), [...path, key])
      if (merged === undefined) result.delete(key)
      else result.set(key, merged)
    }
    const oursKeys = new Set(keysOf(ours))
    let after: string | undefined
    for (const key of keysOf(theirs)) {
      if (!oursKeys.has(key)) {
        const merged = this.value(base?.get(key), undefined, theirs.get(key), [...path, key])
        if (merged !== undefined) insertAfter(result, after, key, merged)
      }
      if (result.entry(key) !== undefined) after = key
    }
    return result
  }
}

/** Insert an entry right after `after` (or first when undefined), skipping comments that lead the next key. */
function insertAfter(map: TreeMap, after: string | undefined, key: string, value: Value): void {
  const index = after === undefined ? -1 : map.items.findIndex((i) => !(i instanceof Comment) && i.key === after)
  map.items.splice(index + 1, 0, { key, value })
}

export interface TreeMergeResult {
  /** Conflicts resolved with ours' values (the tree a clean merge writes). */
  ours: TreeMap[]
  /** Conflicts resolved with theirs' values. */
  theirs: TreeMap[]
  /** Dotted key paths that conflict, in document order, without duplicates. */
  conflicts: string[]
}

function mergeBranches(base: TreeMap[] | undefined, ours: TreeMap[], theirs: TreeMap[], pick: Side): { branches: TreeMap[]; conflicts: string[] } {
  const merger = new Merger(pick)
  // Documents are matched by position; a different number of documents is one whole conflict.
  if (ours.length !== theirs.length) {
    const same = base !== undefined && base.length === ours.length && base.every((b, i) => sameValue(b, ours[i]))
    if (same) return { branches: theirs.map((b) => cloneValue(b)), conflicts: [] }
    const sameTheirs = base !== undefined && base.length === theirs.length && base.every((b, i) => sameValue(b, theirs[i]))
    if (sameTheirs) return { branches: ours.map((b) => cloneValue(b)), conflicts: [] }
    return { branches: (pick === 'ours' ? ours : theirs).map((b) => cloneValue(b)), conflicts: ['(document)'] }
  }
  const branches = ours.map((o, i) => merger.value(base?.[i], o, theirs[i], []) as TreeMap)
  return { branches, conflicts: merger.conflicts }
}

export function mergeTrees(base: TreeMap[] | undefined, ours: TreeMap[], theirs: TreeMap[]): TreeMergeResult {
  const a = mergeBranches(base, ours, theirs, 'ours')
  const b = mergeBranches(base, ours, theirs, 'theirs')
  return { ours: a.branches, theirs: b.branches, conflicts: [...new Set(a.conflicts)] }
}
