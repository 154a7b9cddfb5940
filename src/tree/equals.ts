/**
 * Tree equality as sops's `equals` (sops.go) defines it: containers compare item by item in
 * order (comments included, by text), scalars compare by type and value — so the float 5 that
 * `set` stores is not equal to an existing int 5, and `--idempotent` rewrites it.
 */
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type Value } from '../core/tree.js'

type Node = Value | Comment

export function treeEquals(a: Node, b: Node): boolean {
  if (a instanceof TreeMap) return b instanceof TreeMap && mapEquals(a, b)
  if (a instanceof TreeSeq) return b instanceof TreeSeq && listEquals(a.items, b.items)
  if (a instanceof Comment) return b instanceof Comment && a.text === b.text
  return scalarEquals(a, b)
}

function mapEquals(a: TreeMap, b: TreeMap): boolean {
  if (a.items.length !== b.items.length) return false
  return a.items.every((item, i) => {
    const other = b.items[i]!
    if (item instanceof Comment || other instanceof Comment) return treeEquals(item as Node, other as Node)
    return item.key === other.key && treeEquals(item.value, other.value)
  })
}

function listEquals(a: readonly Node[], b: readonly Node[]): boolean {
  return a.length === b.length && a.every((item, i) => treeEquals(item, b[i]!))
}

function scalarEquals(a: Node, b: Node): boolean {
  if (a instanceof Timestamp) return b instanceof Timestamp && a.text === b.text
  if (a instanceof Literal) return b instanceof Literal && a.raw === b.raw && a.typeTag === b.typeTag && scalarEquals(a.value, b.value)
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b))
  // Go's == on float64: NaN is never equal to itself, which `===` already gives.
  return a === b
}
