/** HuaweiCloud KMS: the descriptor (names, ids, .sops.yaml entries); the implementation is ../hckms.ts. */
import { GenericError } from '../../core/errors.js'
import type { FieldPath } from '../../core/field-path.js'
import type { KeyFields } from '../../core/key-entry.js'
import { defineKeySource, requiredField, stringField, trimSpaces, type ConfigReader } from '../descriptor.js'
import { goQuote } from '../go-text.js'
import type { KeySpec } from '../types.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    hckms: true
  }
}

export interface HckmsKey {
  /** As given (the metadata's key_id). */
  keyId: string
  region: string
  keyUuid: string
}

/** sops's parseKeyID, with its messages. */
export function parseKeyId(keyId: string): HckmsKey {
  const trimmed = keyId.trim()
  const colon = trimmed.indexOf(':')
  if (colon === -1) throw new GenericError(`invalid key ID format: expected 'region:key-uuid', got ${goQuote(trimmed)}`, { code: 'BAD_KEY', hint: KEY_ID_HINT })
  const region = trimmed.slice(0, colon).trim()
  const keyUuid = trimmed.slice(colon + 1).trim()
  if (region === '') throw new GenericError(`region cannot be empty in key ID: ${goQuote(trimmed)}`, { code: 'BAD_KEY', hint: KEY_ID_HINT })
  if (keyUuid === '') throw new GenericError(`key UUID cannot be empty in key ID: ${goQuote(trimmed)}`, { code: 'BAD_KEY', hint: KEY_ID_HINT })
  return { keyId, region, keyUuid }
}

const KEY_ID_HINT = 'Use <region>:<key-uuid>, e.g. tr-west-1:0d0466b0-e727-4d9c-b35d-f84bb474a37f.'

/**
 * sops's loader builds each hckms entry with NewMasterKey, which parses the key_id: a file with a
 * bad one is refused at load (exit 1), whatever other key could open it.
 */
function checkEntry(fields: KeyFields, where: string): void {
  try {
    parseKeyId(stringField(fields, 'key_id'))
  } catch (err) {
    if (!(err instanceof GenericError)) throw err
    throw new GenericError(err.message, { code: 'INVALID_METADATA', hint: `in the metadata field ${where}.key_id. ${KEY_ID_HINT}` })
  }
}

/** `{key_id}` in a key_groups entry. */
function groupEntry(reader: ConfigReader, item: unknown, path: FieldPath): KeySpec[] {
  return [{ type: 'hckms', id: requiredField(reader, reader.map(item, path, ['key_id']), path, 'key_id') }]
}

export const hckms = defineKeySource({
  type: 'hckms',
  metadataField: 'hckms',
  createdAt: true,
  checkEntry,
  skipsEmptyListItems: true,
  flag: {
    name: 'hckms',
    env: 'SOPS_HUAWEICLOUD_KMS_IDS',
    usage: 'comma separated list of HuaweiCloud KMS key IDs (format: region:key-uuid)',
    addUsage: 'add the provided comma-separated list of HuaweiCloud KMS key IDs (format: region:key-uuid) to the list of master keys on the given file',
    rmUsage: 'remove the provided comma-separated list of HuaweiCloud KMS key IDs (format: region:key-uuid) from the list of master keys on the given file',
  },
  // `hckms` is `[]string` in sops's flat rule, so a plain string is refused there.
  config: { field: 'hckms', typedSlice: true, groupField: 'hckms', groupEntry },
  idOf: (f) => stringField(f, 'key_id'),
  normalizeId: trimSpaces,
  keyService: { oneof: 7, strings: { key_id: 1 }, maps: {}, title: (f) => `HuaweiCloud KMS key with ID ${f.key_id}` },
  load: () => import('../hckms.js'),
})
