/**
 * In-place emit: the tree's leaves and comments, in the order the core walks them, replace the
 * source ranges parse recorded for them; every other byte of the source stays as it was.
 *
 * This is only sound while the tree has the shape parse saw, so parse records a shape
 * signature (keys, containers, leaf and comment positions) and emit compares it first.
 */
import { Comment, Literal, TreeMap, TreeSeq, type Scalar, type Value } from '../core/tree.js'
import type { Range } from './toml-read.js'
import { sameScalar, scalarText } from './toml-values.js'

export interface Slot {
  range: Range
  /** The leaf as parse put it in the tree (a Literal, or a plain string in encrypted files). */
  original: Scalar | Comment
}

export interface Flattened {
  shape: string
  leaves: (Scalar | Comment)[]
}

/** Leaves and comments in walk order (walk.ts: items in order, depth first) plus the shape. */
export function flattenTree(root: TreeMap): Flattened {
  const shape: string[] = []
  const leaves: (Scalar | Comment)[] = []
  const visit = (v: Value | Comment): void => {
    if (v instanceof Comment) {
      shape.push('#')
      leaves.push(v)
    } else if (v instanceof TreeMap) {
      shape.push('{')
      for (const item of v.items) {
        if (!(item instanceof Comment)) shape.push('k' + JSON.stringify(item.key))
        visit(item instanceof Comment ? item : item.value)
      }
      shape.push('}')
    } else if (v instanceof TreeSeq) {
      shape.push('[')
      for (const item of v.items) visit(item)
      shape.push(']')
    } else {
      // null has no TOML spelling: a tree holding one never matches a parsed shape.
      shape.push(v === null ? 'n' : 'v')
      leaves.push(v)
    }
  }
  visit(root)
  return { shape: shape.join('\u0000'), leaves }
}

/** The text for one slot, or undefined when it cannot be written in place. */
function replacement(leaf: Scalar | Comment, slot: Slot, source: string): string | undefined {
  if (leaf instanceof Comment) return /[\r\n]/.test(leaf.text) ? undefined : '#' + leaf.text
  if (leaf instanceof Literal) return leaf.raw
  if (!(slot.original instanceof Comment) && sameScalar(leaf, slot.original)) {
    // Unchanged (or an equal plain value): the source spelling stays, whatever it was.
    return source.slice(slot.range[0], slot.range[1])
  }
  return scalarText(leaf, true)
}

/**
 * Splice the tree into the source; undefined when the shape changed or a value cannot be
 * written in place (the caller then re-serializes the whole tree).
 */
export function splice(root: TreeMap, source: string, shape: string, slots: readonly Slot[]): string | undefined {
  const now = flattenTree(root)
  if (now.shape !== shape || now.leaves.length !== slots.length) return undefined
  const edits: { range: Range; text: string }[] = []
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!
    const text = replacement(now.leaves[i]!, slot, source)
    if (text === undefined) return undefined
    edits.push({ range: slot.range, text })
  }
  // Walk order is not source order (a `[a.x]` after `[b]` is walked inside `a`).
  edits.sort((a, b) => a.range[0] - b.range[0])
  const parts: string[] = []
  let pos = 0
  for (const { range, text } of edits) {
    parts.push(source.slice(pos, range[0]), text)
    pos = range[1]
  }
  parts.push(source.slice(pos))
  return parts.join('')
}
