/**
 * The values sops writes to Vault and its "already up-to-date" test, as Go does them.
 *
 * sops turns the decrypted tree into a map with EmitAsMap, which converts the maps it meets
 * through maps only: a map inside a list stays a sops TreeBranch, which Go's JSON encoder writes
 * as a list of `{"Key": …, "Value": …}` items (and a comment as `{"Value": …, "Inline": …}`).
 * That is what real sops stores, so it is what tsops stores (docs/publish.md).
 *
 * sops compares the values with what Vault holds with go-cmp, which also compares Go types: a
 * number never equals the json.Number Vault's client decodes, a timestamp never equals a string,
 * a TreeBranch never equals a map. Only strings, booleans and nulls (in maps and lists) can be
 * equal, so a secret with a number is written again on every publish, as with sops.
 */
import { Comment, Literal, TreeMap, TreeSeq, type MapItem, type Scalar, type SeqItem, type Value } from '../core/tree.js'

/** The map sops sends (before KV v2's `{"data": …}` wrapper), as a tree the JSON emitter writes. */
export function goValue(values: TreeMap): TreeMap {
  return new TreeMap(values.entries().map(({ key, value }) => ({ key, value: mapMember(value) })))
}

/** A value reached through maps only (EmitAsMap's recursion). */
function mapMember(value: Value): Value {
  if (value instanceof TreeMap) return goValue(lastWins(value))
  if (value instanceof TreeSeq) return listJson(value)
  return value
}

/** A []interface{} as json.Marshal writes it: no more EmitAsMap below this point. */
function listJson(seq: TreeSeq): TreeSeq {
  return new TreeSeq(seq.items.map(rawJson))
}

function rawJson(item: SeqItem): Value {
  if (item instanceof Comment) return commentJson(item)
  if (item instanceof TreeMap) return new TreeSeq(item.items.map(treeItemJson))
  if (item instanceof TreeSeq) return listJson(item)
  return item
}

/** A TreeItem{Key, Value}: `{"Key": "k", "Value": v}`; a comment item has a Comment key and a nil value. */
function treeItemJson(item: MapItem): Value {
  if (item instanceof Comment) return new TreeMap([{ key: 'Key', value: commentJson(item) }, { key: 'Value', value: null }])
  return new TreeMap([{ key: 'Key', value: item.key }, { key: 'Value', value: rawJson(item.value) }])
}

function commentJson(comment: Comment): TreeMap {
  return new TreeMap([{ key: 'Value', value: comment.text }, { key: 'Inline', value: comment.inline }])
}

/** Go's map: one entry per key, the last one written wins. */
function lastWins(map: TreeMap): TreeMap {
  const merged = new Map<string, Value>()
  for (const { key, value } of map.entries()) merged.set(key, value)
  return new TreeMap([...merged].map(([key, value]) => ({ key, value })))
}

/** go-cmp's Equal(values, stored) for the JSON Vault answered with. */
export function sameAsStored(values: TreeMap, stored: unknown): boolean {
  return mapEquals(lastWins(values), stored)
}

function mapEquals(map: TreeMap, stored: unknown): boolean {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return false
  const entries = lastWins(map).entries()
  const record = stored as Record<string, unknown>
  if (entries.length !== Object.keys(record).length) return false
  return entries.every(({ key, value }) => Object.hasOwn(record, key) && memberEquals(value, record[key]))
}

function memberEquals(value: Value, stored: unknown): boolean {
  if (value instanceof TreeMap) return mapEquals(value, stored)
  if (value instanceof TreeSeq) return listEquals(value, stored)
  return scalarEquals(value, stored)
}

/** A list's maps are TreeBranches and its comments Comments: neither equals decoded JSON. */
function listEquals(seq: TreeSeq, stored: unknown): boolean {
  if (!Array.isArray(stored) || stored.length !== seq.items.length) return false
  return seq.items.every((item, i) => {
    if (item instanceof Comment || item instanceof TreeMap) return false
    return item instanceof TreeSeq ? listEquals(item, stored[i]) : scalarEquals(item, stored[i])
  })
}

function scalarEquals(value: Scalar, stored: unknown): boolean {
  if (value instanceof Literal) return scalarEquals(value.value, stored)
  if (value instanceof Uint8Array) return typeof stored === 'string' && Buffer.from(value).toString('utf8') === stored
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value === stored
  return false // int, float, time: another Go type than what the client decodes
}
