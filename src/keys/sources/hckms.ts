/** HuaweiCloud KMS: the descriptor (names, ids, .sops.yaml entries); the implementation is ../hckms.ts. */
import type { FieldPath } from '../../core/field-path.js'
import { defineKeySource, requiredField, stringField, trimSpaces, type ConfigReader } from '../descriptor.js'
import type { KeySpec } from '../types.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    hckms: true
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
