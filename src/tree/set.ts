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
  return setIn(root, path, value).changed
}

interface SetResult {
  node: Value
  changed: boolean
}

function setIn(node: Value, path: readonly PathPart[], value: Value): SetResult {
  const [head, ...rest] = path as [PathPart, ...PathPart[]]
  if (node instanceof TreeMap) return setInMap(node, requireKey(head, 'map'), rest, value)
  if (node instanceof TreeSeq) return setInList(node, requireIndex(head, 'list'), rest, value)
  const built = valueFromPath(path, value)
  return { node: built, changed: !treeEquals(node, built) }
}

function setInMap(map: TreeMap, key: string, rest: readonly PathPart[], value: Value): SetResult {
  const entry = map.entry(key)
  if (entry === undefined) {
    map.items.push({ key, value: valueFromPath(rest, value) })
    return { node: map, changed: true }
  }
  if (rest.length === 0) {
    const changed = !treeEquals(entry.value, value)
    entry.value = value
    return { node: map, changed }
  }
  const inner = setIn(entry.value, rest, value)
  entry.value = inner.node
  return { node: map, changed: inner.changed }
}

function setInList(seq: TreeSeq, index: number, rest: readonly PathPart[], value: Value): SetResult {
  const at = itemIndexOf(seq, index)
  if (at === undefined) {
    seq.items.push(valueFromPath(rest, value))
    return { node: seq, changed: true }
  }
  const current = seq.items[at] as Value
  if (rest.length === 0) {
    seq.items[at] = value
    return { node: seq, changed: !treeEquals(current, value) }
  }
  const inner = setIn(current, rest, value)
  seq.items[at] = inner.node
  return { node: seq, changed: inner.changed }
}

/** The nested containers a path needs around a leaf: ["a"][0] + v -> {a: [v]}. */
function valueFromPath(path: readonly PathPart[], leaf: Value): Value {
  let node = leaf
  for (let i = path.length - 1; i >= 0; i--) {
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
