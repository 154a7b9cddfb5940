/** GCP KMS: the descriptor (names, ids, .sops.yaml entries); the implementation is ../gcp-kms.ts. */
import type { FieldPath } from '../../core/field-path.js'
import { defineKeySource, requiredField, stringField, stripSpaces, type ConfigReader } from '../descriptor.js'
import { splitKeyList } from '../key-list.js'
import type { KeySpec } from '../types.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    gcp_kms: true
  }
}

/** `{resource_id}` in a key_groups entry (a comma list, like every key id there). */
function groupEntry(reader: ConfigReader, item: unknown, path: FieldPath): KeySpec[] {
  const id = requiredField(reader, reader.map(item, path, ['resource_id']), path, 'resource_id')
  return splitKeyList(id).map((entry) => ({ type: 'gcp_kms', id: stripSpaces(entry) }))
}

export const gcpKms = defineKeySource({
  type: 'gcp_kms',
  metadataField: 'gcp_kms',
  createdAt: true,
  flag: {
    name: 'gcp-kms',
    env: 'SOPS_GCP_KMS_IDS',
    usage: 'comma separated list of GCP KMS resource IDs',
    addUsage: 'add the provided comma-separated list of GCP KMS key resource IDs to the list of master keys on the given file',
    rmUsage: 'remove the provided comma-separated list of GCP KMS key resource IDs from the list of master keys on the given file',
  },
  config: { field: 'gcp_kms', groupField: 'gcp_kms', groupEntry },
  idOf: (f) => stringField(f, 'resource_id'),
  normalizeId: stripSpaces,
  keyService: { oneof: 3, strings: { resource_id: 1 }, maps: {}, title: (f) => `GCP KMS key with resource ID ${f.resource_id}` },
  load: () => import('../gcp-kms.js'),
})
