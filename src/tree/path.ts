/**
 * Addressing a value inside a document tree with a parsed tree path (`["a"][0]["b"]`,
 * spec §9.4). List indices count values only, never comment items, so `[0]` is the first
 * element a reader sees — the same rule `--extract`, `set` and `unset` follow.
 */
import { Comment, TreeMap, TreeSeq, type Value } from '../core/tree.js'
import { GenericError } from '../core/errors.js'

export type PathPart = string | number

/** The position in `seq.items` of the `index`-th value, or undefined past the end. */
export function itemIndexOf(seq: TreeSeq, index: number): number | undefined {
  let seen = 0
  for (let i = 0; i < seq.items.length; i++) {
    if (seq.items[i] instanceof Comment) continue
    if (seen === index) return i
    seen++
  }
  return undefined
}

/** The child of a container for one path part; undefined when there is none. */
export function childOf(node: Value, part: PathPart): Value | undefined {
  if (typeof part === 'number') return node instanceof TreeSeq && part >= 0 ? node.values()[part] : undefined
  return node instanceof TreeMap ? node.get(part) : undefined
}

/** The value at `path`; a missing component is sops's "error truncating tree" (exit 1), in sops's words. */
export function valueAt(root: TreeMap, path: readonly PathPart[]): Value {
  let node: Value = root
  for (const part of path) {
    const next = childOf(node, part)
    if (next === undefined) throw new GenericError(`error truncating tree: ${missingComponent(node, part)}`, { code: 'PATH_NOT_FOUND' })
    node = next
  }
  return node
}

/**
 * sops's Truncate messages. (Where sops panics — a key looked up in a list or a scalar, a
 * negative index — tsops says the component was not found.)
 */
function missingComponent(node: Value, part: PathPart): string {
  if (typeof part === 'string') return `component ['${part}'] not found`
  if (!(node instanceof TreeSeq)) return `component [${part}] is integer, but tree part is not a slice`
  return part < 0 ? `component [${part}] not found` : `component [${part}] accesses out of bounds`
}
