/**
 * The value argument of `set` (sops main.go `jsonValueToTreeInsertableValue`, spec §9.4):
 * parsed as JSON the way Go's encoding/json fills an interface{} — every number becomes a
 * float64, strings/bools/null as they are — except objects, which are parsed again with the
 * JSON store so nested integers stay ints and key order survives. Arrays are refused.
 */
import { SetFormatError } from '../core/errors.js'
import { TreeMap, type Value } from '../core/tree.js'
import { parseJsonDocument } from '../formats/json.js'

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

export function parseSetValue(text: string): Value {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new SetFormatError('Value for --set is not valid JSON')
  }
  if (Array.isArray(parsed)) throw new SetFormatError('Invalid --set value format', { hint: 'Lists cannot be set as a whole; set their elements one index at a time.' })
  if (parsed !== null && typeof parsed === 'object') return parseObject(text)
  return scalarFrom(parsed)
}

function scalarFrom(parsed: unknown): Value {
  if (typeof parsed === 'number') {
    // Go refuses numbers beyond float64 (1e400) instead of making them infinite.
    if (!Number.isFinite(parsed)) throw new SetFormatError('Value for --set is not valid JSON')
    return parsed
  }
  // Go decodes an unpaired \ud800 escape to U+FFFD.
  if (typeof parsed === 'string') return parsed.replace(LONE_SURROGATE, '\ufffd')
  return parsed as boolean | null
}

function parseObject(text: string): TreeMap {
  try {
    const doc = parseJsonDocument(Buffer.from(text, 'utf8'))
    const root = doc.branches[0] ?? new TreeMap()
    // The store lifts a mapping `sops` key out as metadata; in a value it is plain data.
    if (doc.metadata) root.items.push({ key: 'sops', value: doc.metadata })
    return root
  } catch {
    throw new SetFormatError('Invalid --set value format')
  }
}
