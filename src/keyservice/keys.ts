/**
 * The one table between tsops's key entries and the `Key` message of sops's
 * keyservice/keyservice.proto: per key type, its field number in `oneof key_type` and the field
 * number of each of its metadata fields in that type's message. Metadata field names are the
 * .proto's names except PGP's `fp` (the .proto's `fingerprint`); the KMS encryption context is
 * the one map field.
 *
 * A `Key` message is carried as a KeyEntry without `enc` (and `created_at`): the fields that say
 * which key it is, which is all a key service is told about a key (sops's KeyFromMasterKey).
 */
import type { KeyEntry, KeyFields, KeyType } from '../keys/types.js'

export interface KeyMessage {
  /** Field number of the type's message inside `Key` (`oneof key_type`). */
  readonly oneof: number
  /** string fields: metadata field name -> field number. */
  readonly strings: Readonly<Record<string, number>>
  /** map<string, string> fields: metadata field name -> field number. */
  readonly maps: Readonly<Record<string, number>>
  /** How the server's --prompt names the key (server.go keyToString; it has no words for age). */
  readonly title: (f: Readonly<Record<string, string>>) => string
}

export const KEY_MESSAGES: Readonly<Record<KeyType, KeyMessage>> = {
  kms: { oneof: 1, strings: { arn: 1, role: 2, aws_profile: 4 }, maps: { context: 3 }, title: (f) => `AWS KMS key with ARN ${f.arn}` },
  pgp: { oneof: 2, strings: { fp: 1 }, maps: {}, title: (f) => `PGP key with fingerprint ${f.fp}` },
  gcp_kms: { oneof: 3, strings: { resource_id: 1 }, maps: {}, title: (f) => `GCP KMS key with resource ID ${f.resource_id}` },
  azure_kv: {
    oneof: 4,
    strings: { vault_url: 1, name: 2, version: 3 },
    maps: {},
    title: (f) => `Azure Key Vault key with URL ${f.vault_url}/keys/${f.name}/${f.version}`,
  },
  hc_vault: {
    oneof: 5,
    strings: { vault_address: 1, engine_path: 2, key_name: 3 },
    maps: {},
    title: (f) => `Hashicorp Vault key with URI ${f.vault_address}/v1/${f.engine_path}/keys/${f.key_name}`,
  },
  age: { oneof: 6, strings: { recipient: 1 }, maps: {}, title: () => 'Unknown key type' },
  hckms: { oneof: 7, strings: { key_id: 1 }, maps: {}, title: (f) => `HuaweiCloud KMS key with ID ${f.key_id}` },
}

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
