/**
 * sops `stores/flatten.go` (spec §5.6): the flat stores (dotenv, INI) have no nesting, so the
 * metadata block is written as one key per leaf — `pgp__list_0__map_enc` — and rebuilt on read.
 *
 * Values are passed through untouched (the emitters spell non-strings with ValToString); on read
 * every value is a string, and the metadata reader converts `"2"`/`"true"` weakly, as sops's
 * mapstructure does.
 */
import { Comment, TreeMap, TreeSeq, type MapEntry, type Scalar, type Value } from '../core/tree.js'
import { EmitError, FormatError } from '../core/errors.js'

export const MAP_SEPARATOR = '__map_'
export const LIST_SEPARATOR = '__list_'

export interface FlatEntry {
  key: string
  value: Scalar
}

// ---- flatten -------------------------------------------------------------------------------

/**
 * Every leaf below `map` as `<prefix><key>[__map_<key>|__list_<i>]…`, in document order.
 * Comments are dropped, list indices count only non-comment elements, and empty maps/lists
 * produce no entries at all (so `age: []` in a key group disappears, as in sops).
 */
export function flatten(map: TreeMap, prefix = ''): FlatEntry[] {
  const out: FlatEntry[] = []
  const seen = new Set<string>()
  // Depth-first with an explicit stack (a deeply nested tree must not overflow the call stack);
  // children are pushed in reverse so they come out in document order.
  const pending = mapChildren(map, prefix).reverse()
  while (pending.length > 0) {
    const { value, key } = pending.pop()!
    if (value instanceof TreeMap || value instanceof TreeSeq) {
      const children = value instanceof TreeMap ? mapChildren(value, key + MAP_SEPARATOR) : seqChildren(value, key + LIST_SEPARATOR)
      for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]!)
      continue
    }
    // Two paths can spell the same flat key (`a__map_b` as a key vs `a` -> `b`); sops refuses.
    if (seen.has(key)) throw new EmitError(`Found key collision ${JSON.stringify(key)} while flattening`)
    seen.add(key)
    out.push({ key, value })
  }
  return out
}

function mapChildren(map: TreeMap, prefix: string): { value: Value; key: string }[] {
  const out: { value: Value; key: string }[] = []
  for (const item of map.items) if (!(item instanceof Comment)) out.push({ value: item.value, key: prefix + item.key })
  return out
}

function seqChildren(seq: TreeSeq, prefix: string): { value: Value; key: string }[] {
  const out: { value: Value; key: string }[] = []
  let i = 0
  for (const item of seq.items) {
    if (item instanceof Comment) continue
    out.push({ value: item, key: `${prefix}${i}` })
    i++
  }
  return out
}

// ---- unflatten -----------------------------------------------------------------------------

type Token = { map: string } | { index: number }

/** strconv.Atoi with the error ignored, as sops's tokenizer does: anything unparsable is 0. */
function atoiOrZero(s: string): number {
  return /^[+-]?\d+$/.test(s) ? Number(s) : 0
}

/**
 * Split a flat key on `__map_` / `__list_`, scanning left to right exactly like sops's tokenize
 * (so `a__map___list_0` and other odd spellings split the same way). The first token is always
 * a map key, possibly empty.
 */
export function tokenize(path: string): Token[] {
  const tokens: Token[] = []
  let state: 'normal' | 'map' | 'list' = 'normal'
  let tokenStart = 0
  const finish = (end: number): void => {
    if (state === 'list') tokens.push({ index: atoiOrZero(path.slice(tokenStart + LIST_SEPARATOR.length, end)) })
    else tokens.push({ map: path.slice(tokenStart + (state === 'map' ? MAP_SEPARATOR.length : 0), end) })
    tokenStart = end
  }
  let i = 0
  while (i < path.length) {
    if (path.startsWith(MAP_SEPARATOR, i)) {
      finish(i)
      state = 'map'
      i += MAP_SEPARATOR.length
    } else if (path.startsWith(LIST_SEPARATOR, i)) {
      finish(i)
      state = 'list'
      i += LIST_SEPARATOR.length
    } else {
      i++
    }
  }
  finish(i)
  return tokens
}

interface Node {
  value?: { v: Value }
  subkeys?: Map<string, Node>
  indices?: Map<number, Node>
}

function child<K>(children: Map<K, Node>, key: K): Node {
  let next = children.get(key)
  if (!next) {
    next = {}
    children.set(key, next)
  }
  return next
}

function place(root: Node, tokens: Token[], value: Value, key: string): void {
  let node = root
  for (const t of tokens) {
    if ('map' in t) node = child((node.subkeys ??= new Map()), t.map)
    else node = child((node.indices ??= new Map()), t.index)
  }
  if (node.value) throw new FormatError(`Error while unflattening ${JSON.stringify(key)}: Duplicate value`)
  node.value = { v: value }
}

/** sort.Strings order: byte order of the UTF-8 encoding, which is code point order. */
export function compareGoStrings(a: string, b: string): number {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  for (;;) {
    const ca = ia.next()
    const cb = ib.next()
    if (ca.done || cb.done) return ca.done ? (cb.done ? 0 : -1) : 1
    const d = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!
    if (d !== 0) return d
  }
}

/**
 * Node tree -> value, depth-first with an explicit stack (a flat key with 20,000 `__map_`
 * segments must not overflow the call stack). Nodes are checked in the same order a recursive
 * conversion would check them, so the first error reported is the same.
 */
function convert(root: Node): Value {
  let result: Value = null
  const pending: { node: Node; set: (v: Value) => void }[] = [{ node: root, set: (v) => (result = v) }]
  while (pending.length > 0) {
    const { node, set } = pending.pop()!
    const kinds = (node.value ? 1 : 0) + (node.subkeys?.size ? 1 : 0) + (node.indices?.size ? 1 : 0)
    if (kinds > 1) throw new FormatError('Error while unflattening: Type mismatch')
    if (node.value) {
      set(node.value.v)
      continue
    }
    const children = node.subkeys?.size ? mapNodeChildren(node.subkeys) : node.indices?.size ? listNodeChildren(node.indices) : undefined
    if (children === undefined) {
      set(new TreeMap())
      continue
    }
    set(children.container)
    for (let i = children.nodes.length - 1; i >= 0; i--) pending.push(children.nodes[i]!)
  }
  return result
}

interface NodeChildren {
  container: TreeMap | TreeSeq
  /** Each child node with the setter that stores its value in `container`. */
  nodes: { node: Node; set: (v: Value) => void }[]
}

function mapNodeChildren(subkeys: Map<string, Node>): NodeChildren {
  const keys = [...subkeys.keys()].sort(compareGoStrings)
  const container = new TreeMap(keys.map((key) => ({ key, value: null })))
  const nodes = keys.map((key, i) => ({ node: subkeys.get(key)!, set: (v: Value) => ((container.items[i] as MapEntry).value = v) }))
  return { container, nodes }
}

function listNodeChildren(indices: Map<number, Node>): NodeChildren {
  // Every index 0..n-1 must be present: a gap means a lost entry, which sops refuses to guess.
  // (A loop, not Math.min(...keys): a spread of 200,000 indices overflows the call stack.)
  let min = Infinity
  let max = -Infinity
  for (const i of indices.keys()) {
    if (i < min) min = i
    if (i > max) max = i
  }
  if (min !== 0 || max + 1 !== indices.size) throw new FormatError('Error while unflattening: Incomplete list')
  const container = new TreeSeq(Array.from({ length: indices.size }, () => null))
  const nodes = Array.from({ length: indices.size }, (_, i) => ({ node: indices.get(i)!, set: (v: Value) => (container.items[i] = v) }))
  return { container, nodes }
}

/**
 * Rebuild the nested tree from flat entries (comments skipped). Rebuilt maps have their keys
 * sorted, so the result does not depend on the order of the lines in the file.
 * Throws FormatError on a duplicate key, a key that is both a leaf and a container, or a list
 * with missing indices.
 */
export function unflatten(entries: Iterable<{ key: string; value: Value } | Comment>): TreeMap {
  const root: Node = {}
  for (const e of entries) {
    if (e instanceof Comment) continue
    place(root, tokenize(e.key), e.value, e.key)
  }
  const result = convert(root)
  // The first token is always a map key, so the root is a map (or empty).
  return result instanceof TreeMap ? result : new TreeMap()
}
