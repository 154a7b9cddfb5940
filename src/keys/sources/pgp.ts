/** PGP (through gpg): the descriptor (names, ids, .sops.yaml entries); the implementation is ../pgp.ts. */
import type { FieldPath } from '../../core/field-path.js'
import { defineKeySource, stringField, stripSpaces, type ConfigReader } from '../descriptor.js'
import type { KeySpec } from '../types.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    pgp: true
  }
}

/**
 * One fingerprint per key_groups item, not a comma list: sops's extractMasterKeys calls
 * NewMasterKeyFromFingerprint on each item, so an empty one is a key that fails to wrap.
 */
function groupEntry(reader: ConfigReader, item: unknown, path: FieldPath): KeySpec[] {
  return [{ type: 'pgp', id: stripSpaces(reader.string(item, path) ?? '') }]
}

export const pgp = defineKeySource({
  type: 'pgp',
  metadataField: 'pgp',
  createdAt: true,
  flag: {
    name: 'pgp',
    short: 'p',
    env: 'SOPS_PGP_FP',
    usage: 'comma separated list of PGP fingerprints',
    addUsage: 'add the provided comma-separated list of PGP fingerprints to the list of master keys on the given file',
    rmUsage: 'remove the provided comma-separated list of PGP fingerprints from the list of master keys on the given file',
  },
  config: { field: 'pgp', groupField: 'pgp', groupEntry },
  idOf: (f) => stringField(f, 'fp'),
  normalizeId: stripSpaces,
  // Fingerprints are hex, so their case does not matter.
  sameId: (a, b) => a.toUpperCase() === b.toUpperCase(),
  keyService: { oneof: 2, strings: { fp: 1 }, maps: {}, title: (f) => `PGP key with fingerprint ${f.fp}` },
  load: () => import('../pgp.js'),
})
