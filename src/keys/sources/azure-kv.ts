/** Azure Key Vault: the descriptor (names, ids, .sops.yaml entries); the implementation is ../azure-kv.ts. */
import type { FieldPath } from '../../core/field-path.js'
import { defineKeySource, requiredField, stringField, trimSpaces, type ConfigReader } from '../descriptor.js'
import type { KeySpec } from '../types.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    azure_kv: true
  }
}

const GROUP_FIELDS = ['vaultUrl', 'key', 'version'] as const

/** `{vaultUrl, key, version}` → the URL form `https://vault/keys/name[/version]` used as the id. */
function groupEntry(reader: ConfigReader, item: unknown, path: FieldPath): KeySpec[] {
  const m = reader.map(item, path, GROUP_FIELDS)
  const vaultUrl = requiredField(reader, m, path, 'vaultUrl').replace(/\/+$/, '')
  const key = requiredField(reader, m, path, 'key')
  const version = reader.string(m?.['version'], [...path, 'version'])?.trim()
  return [{ type: 'azure_kv', id: `${vaultUrl}/keys/${key}${version ? `/${version}` : ''}` }]
}

export const azureKv = defineKeySource({
  type: 'azure_kv',
  metadataField: 'azure_kv',
  createdAt: true,
  flag: {
    name: 'azure-kv',
    env: 'SOPS_AZURE_KEYVAULT_URLS',
    usage: 'comma separated list of Azure Key Vault URLs',
    addUsage: 'add the provided comma-separated list of Azure Key Vault key URLs to the list of master keys on the given file',
    rmUsage: 'remove the provided comma-separated list of Azure Key Vault key URLs from the list of master keys on the given file',
  },
  config: { field: 'azure_keyvault', groupField: 'azure_keyvault', groupEntry },
  idOf: (f) => `${stringField(f, 'vault_url')}/keys/${stringField(f, 'name')}/${stringField(f, 'version')}`,
  normalizeId: trimSpaces,
  keyService: {
    oneof: 4,
    strings: { vault_url: 1, name: 2, version: 3 },
    maps: {},
    title: (f) => `Azure Key Vault key with URL ${f.vault_url}/keys/${f.name}/${f.version}`,
  },
  load: () => import('../azure-kv.js'),
})
