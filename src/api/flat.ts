/**
 * A decrypted tree as one flat map of strings: Terraform's `external` data source accepts
 * nothing else. Keys are joined with `.`, list indices are numbers (`hosts.0`), and scalars are
 * spelled the way terraform-provider-sops spells them (Go's `%v`), so configurations moving
 * from its `data` attribute see the same keys and values.
 */
import { Literal, Timestamp, TreeMap, TreeSeq, type Scalar, type Value } from '../core/tree.js'
import { formatFloatG } from '../core/gofmt.js'
import { GenericError } from '../core/errors.js'

export type FlatEntry = readonly [key: string, value: string]

/** Document order is kept; an empty map or list contributes no key. */
export function flattenTree(root: TreeMap): FlatEntry[] {
  const out: FlatEntry[] = []
  const seen = new Set<string>()
  const add = (key: string, value: string) => {
    // `a.b: x` next to `a: {b: y}` would silently lose one value.
    if (seen.has(key)) throw new GenericError(`cannot flatten the file: the key ${JSON.stringify(key)} occurs twice once nested keys are joined with "."`, { code: 'FLATTEN_COLLISION' })
    seen.add(key)
    out.push([key, value])
  }
  walk(root, undefined, add)
  return out
}

function walk(value: Value, prefix: string | undefined, add: (key: string, value: string) => void): void {
  const join = (part: string) => (prefix === undefined ? part : `${prefix}.${part}`)
  if (value instanceof TreeMap) {
    for (const { key, value: v } of value.entries()) walk(v, join(key), add)
  } else if (value instanceof TreeSeq) {
    value.values().forEach((v, i) => walk(v, join(String(i)), add))
  } else if (prefix !== undefined) {
    add(prefix, scalarText(value))
  }
}

/** Go's `fmt.Sprint` of the value sops decoded, with times in the file's RFC 3339 form. */
export function scalarText(v: Scalar): string {
  if (v === null) return 'null'
  if (typeof v === 'string') return v
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') return formatFloatG(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (v instanceof Timestamp) return v.text
  if (v instanceof Literal) return scalarText(v.value)
  return Buffer.from(v).toString('utf8')
}

/** `{"k":"v",…}` in document order (a JS object would move integer-like keys to the front). */
export function flatJson(entries: readonly FlatEntry[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}\n`
}
