/**
 * `unset` on a tree, with sops's semantics (sops.go `unset`): removes a map entry or a list
 * element (later elements shift). A missing key or index is KeyNotFoundError, which
 * `--idempotent` accepts; walking into a scalar is a plain error, as in sops.
 */
import { TreeMap, TreeSeq, isMapEntry, typeName, type MapEntry, type Value } from '../core/tree.js'
import { GenericError } from '../core/errors.js'
import { KeyNotFoundError } from './errors.js'
import { itemIndexOf, type PathPart } from './path.js'

/** Remove the value at `path` from `root` (mutated). */
export function unsetValue(root: TreeMap, path: readonly PathPart[]): void {
  if (path.length === 0) throw new GenericError('Invalid unset index format: the path is empty', { code: 'BAD_TREE_PATH' })
  unsetIn(root, path, 0)
}

/** `path[from]` onwards, removed from `node` (an index into the path: linear in its length). */
function unsetIn(node: Value, path: readonly PathPart[], from: number): void {
  const head = path[from]!
  if (node instanceof TreeMap) return unsetInMap(node, head, path, from + 1)
  if (node instanceof TreeSeq) return unsetInList(node, head, path, from + 1)
  throw new GenericError(`Unsupported type: ${typeName(node)} for item '${head}'`, { code: 'BAD_TREE_PATH' })
}

function unsetInMap(map: TreeMap, key: PathPart, path: readonly PathPart[], rest: number): void {
  // sops compares the key with an index too, which never matches: "Key not found: 0".
  const at = map.items.findIndex((i) => isMapEntry(i) && i.key === key)
  if (at === -1) throw new KeyNotFoundError(`Key not found: ${key}`)
  if (rest === path.length) {
    map.items.splice(at, 1)
    return
  }
  unsetIn((map.items[at] as MapEntry).value, path, rest)
}

function unsetInList(seq: TreeSeq, index: PathPart, path: readonly PathPart[], rest: number): void {
  if (typeof index !== 'number') throw new GenericError(`Unsupported key ${JSON.stringify(index)} for a list: use an integer index`, { code: 'BAD_TREE_PATH' })
  const at = index < 0 ? undefined : itemIndexOf(seq, index)
  if (at === undefined) throw new KeyNotFoundError(`Index ${index} out of bounds`)
  if (rest === path.length) {
    seq.items.splice(at, 1)
    return
  }
  unsetIn(seq.items[at] as Value, path, rest)
}
