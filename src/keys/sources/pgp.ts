/** PGP (through gpg): the descriptor (names, ids, .sops.yaml entries); the implementation is ../pgp.ts. */
import { defineKeySource, stringField, stripSpaces } from '../descriptor.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    pgp: true
  }
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
  config: { field: 'pgp', groupField: 'pgp' },
  idOf: (f) => stringField(f, 'fp'),
  normalizeId: stripSpaces,
  // Fingerprints are hex, so their case does not matter.
  sameId: (a, b) => a.toUpperCase() === b.toUpperCase(),
  keyService: { oneof: 2, strings: { fp: 1 }, maps: {}, title: (f) => `PGP key with fingerprint ${f.fp}` },
  load: () => import('../pgp.js'),
})
