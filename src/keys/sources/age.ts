/** age (X25519 and plugin recipients): the descriptor (names, ids, .sops.yaml entries); the implementation is ../age.ts. */
import { defineKeySource, stringField, trimSpaces } from '../descriptor.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    age: true
  }
}

export const age = defineKeySource({
  type: 'age',
  metadataField: 'age',
  // sops's age entries have no created_at.
  createdAt: false,
  // sops's key group struct has `age` without omitempty.
  alwaysInKeyGroups: true,
  flag: {
    name: 'age',
    short: 'a',
    env: 'SOPS_AGE_RECIPIENTS',
    usage: 'comma separated list of age recipients',
    addUsage: 'add the provided comma-separated list of age recipients fingerprints to the list of master keys on the given file',
    rmUsage: 'remove the provided comma-separated list of age recipients from the list of master keys on the given file',
  },
  config: { field: 'age', groupField: 'age' },
  idOf: (f) => stringField(f, 'recipient'),
  normalizeId: trimSpaces,
  keyService: { oneof: 6, strings: { recipient: 1 }, maps: {}, title: () => 'Unknown key type' },
  load: () => import('../age.js'),
})
