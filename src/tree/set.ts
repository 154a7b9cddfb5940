/**
 * `set` on a tree, with sops's semantics (sops.go `set` / `valueFromPathAndLeaf`, spec §9.4):
 * missing map keys are created (appended), an index at or past the end appends, and a scalar or
 * null in the way is replaced by the container the rest of the path needs.
 */
import { TreeMap, TreeSeq, type Value } from '../core/tree.js'
import { SetFormatError } from '../core/errors.js'
import { treeEquals } from './equals.js'
import { itemIndexOf, type PathPart } from './path.js'

/** Set `value` at `path` in `root` (mutated). Returns whether the tree changed (sops equality). */
export function setValue(root: TreeMap, path: readonly PathPart[], value: Value): boolean {
  if (path.length === 0) throw new SetFormatError('Invalid set index format: the path is empty')
  return setIn(root, path, 0, value).changed
}

interface SetResult {
  node: Value
  changed: boolean
}

/** `path[from]` onwards, set in `node` (an index into the path, not a copy per level: linear in its length). */
function setIn(node: Value, path: readonly PathPart[], from: number, value: Value): SetResult {
  const head = path[from]!
  if (node instanceof TreeMap) return setInMap(node, requireKey(head, 'map'), path, from + 1, value)
  if (node instanceof TreeSeq) return setInList(node, requireIndex(head, 'list'), path, from + 1, value)
  const built = valueFromPath(path, from, value)
  return { node: built, changed: !treeEquals(node, built) }
}

function setInMap(map: TreeMap, key: string, path: readonly PathPart[], rest: number, value: Value): SetResult {
  const entry = map.entry(key)
  if (entry === undefined) {
    map.items.push({ key, value: valueFromPath(path, rest, value) })
    return { node: map, changed: true }
  }
  if (rest === path.length) {
    const changed = !treeEquals(entry.value, value)
    entry.value = value
    return { node: map, changed }
  }
  const inner = setIn(entry.value, path, rest, value)
  entry.value = inner.node
  return { node: map, changed: inner.changed }
}

function setInList(seq: TreeSeq, index: number, path: readonly PathPart[], rest: number, value: Value): SetResult {
  const at = itemIndexOf(seq, index)
  if (at === undefined) {
    seq.items.push(valueFromPath(path, rest, value))
    return { node: seq, changed: true }
  }
  const current = seq.items[at] as Value
  if (rest === path.length) {
    seq.items[at] = value
    return { node: seq, changed: !treeEquals(current, value) }
  }
  const inner = setIn(current, path, rest, value)
  seq.items[at] = inner.node
  return { node: seq, changed: inner.changed }
}

/** The nested containers `path[from]` onwards needs around a leaf: ["a"][0] + v -> {a: [v]}. */
function valueFromPath(path: readonly PathPart[], from: number, leaf: Value): Value {
  let node = leaf
  for (let i = path.length - 1; i >= from; i--) {
    const part = path[i]!
    node = typeof part === 'number' ? new TreeSeq([node]) : new TreeMap([{ key: part, value: node }])
  }
  return node
}

// sops panics or writes non-string keys on these; a clear error is better.
function requireKey(part: PathPart, what: string): string {
  if (typeof part !== 'string') throw new SetFormatError(`Invalid set index format: [${part}] is an index, but the value there is a ${what}`)
  return part
}

function requireIndex(part: PathPart, what: string): number {
  if (typeof part !== 'number') throw new SetFormatError(`Invalid set index format: [${JSON.stringify(part)}] is a key, but the value there is a ${what}`)
  if (part < 0) throw new SetFormatError(`Invalid set index format: negative index [${part}]`)
  return part
}
