/** HashiCorp Vault transit: the descriptor (names, ids, .sops.yaml entries); the implementation is ../vault-transit.ts. */
import { defineKeySource, stringField, trimSpaces } from '../descriptor.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    hc_vault: true
  }
}

export const hcVault = defineKeySource({
  type: 'hc_vault',
  metadataField: 'hc_vault',
  createdAt: true,
  // sops's key group struct has `hc_vault` without omitempty.
  alwaysInKeyGroups: true,
  skipsEmptyListItems: true,
  flag: {
    name: 'hc-vault-transit',
    env: 'SOPS_VAULT_URIS',
    usage: "comma separated list of vault's key URI (e.g. 'https://vault.example.org:8200/v1/transit/keys/dev')",
    addUsage: "add the provided comma-separated list of Vault's URI key to the list of master keys on the given file ( eg. https://vault.example.org:8200/v1/transit/keys/dev)",
    rmUsage: "remove the provided comma-separated list of Vault's URI key from the list of master keys on the given file ( eg. https://vault.example.org:8200/v1/transit/keys/dev)",
  },
  config: { field: 'hc_vault_transit_uri', groupField: 'hc_vault' },
  idOf: (f) => `${stringField(f, 'vault_address')}/v1/${stringField(f, 'engine_path')}/keys/${stringField(f, 'key_name')}`,
  normalizeId: trimSpaces,
  keyService: {
    oneof: 5,
    strings: { vault_address: 1, engine_path: 2, key_name: 3 },
    maps: {},
    title: (f) => `Hashicorp Vault key with URI ${f.vault_address}/v1/${f.engine_path}/keys/${f.key_name}`,
  },
  load: () => import('../vault-transit.js'),
})
