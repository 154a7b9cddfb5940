/**
 * Between tsops's key entries and the `Key` message of sops's keyservice/keyservice.proto: per
 * key type, its field number in `oneof key_type` and the field number of each of its metadata
 * fields in that type's message, as each key source's descriptor declares them
 * (src/keys/sources/); the KMS encryption context is the one map field.
 *
 * A `Key` message is carried as a KeyEntry without `enc` (and `created_at`): the fields that say
 * which key it is, which is all a key service is told about a key (sops's KeyFromMasterKey).
 */
import type { KeyServiceMessage } from '../keys/descriptor.js'
import { KEY_SOURCES } from '../keys/registry.js'
import type { KeyEntry, KeyFields, KeyType } from '../keys/types.js'

export type KeyMessage = KeyServiceMessage

/** Each key type's message, as its key source's descriptor declares it. */
export const KEY_MESSAGES: Readonly<Record<KeyType, KeyMessage>> = Object.fromEntries(KEY_SOURCES.map((d) => [d.type, d.keyService])) as Record<KeyType, KeyMessage>

const TYPE_BY_ONEOF: ReadonlyMap<number, KeyType> = new Map(Object.entries(KEY_MESSAGES).map(([type, m]) => [m.oneof, type as KeyType]))

/** The key type whose message is field `field` of `Key`, if any. */
export function keyTypeOfOneof(field: number): KeyType | undefined {
  return TYPE_BY_ONEOF.get(field)
}

/** How sops's key service names a key when it asks whether to answer (`--prompt`). */
export function keyTitle(key: KeyEntry): string {
  const strings = Object.fromEntries(Object.entries(key.fields).filter((e): e is [string, string] => typeof e[1] === 'string'))
  return KEY_MESSAGES[key.type].title(strings)
}

/** What a key service is told about a key: the entry's identifying fields, no enc or created_at. */
export function keyOfEntry(entry: KeyEntry): KeyEntry {
  const message = KEY_MESSAGES[entry.type]
  const fields: KeyFields = {}
  for (const name of Object.keys(message.strings)) {
    const value = entry.fields[name]
    if (typeof value === 'string') fields[name] = value
  }
  for (const name of Object.keys(message.maps)) {
    const value = entry.fields[name]
    if (typeof value === 'object') fields[name] = { ...value }
  }
  return { type: entry.type, fields }
}

/**
 * The metadata entry of a key wrapped by a key service: the key's own fields (as its source
 * writes them) and the service's ciphertext as `enc`. `created_at` is stamped by wrapDataKey,
 * as for every key, from the key registry.
 */
export function entryOfWrappedKey(key: KeyEntry, ciphertext: Uint8Array): KeyEntry {
  return { type: key.type, fields: { ...key.fields, enc: Buffer.from(ciphertext).toString('utf8') } }
}
