/**
 * Key lists as written in flags and flat config fields: `--age a,b`, `kms: "arn1,arn2+role"`,
 * `--encryption-context k1:v1,k2:v2`. Shared by the config loader and the CLI so both normalise
 * ids the way sops's key constructors do.
 */
import { EncryptionContextFormatError } from '../core/errors.js'
import type { KeySpec, KeySpecOptions } from '../keys/types.js'

/** keySpecsFromString: the keys of one comma-list value, normalised as the type's constructor does. */
export { splitKeyList, normalizeKeyId, keySpecsFromList as keySpecsFromString } from '../keys/registry.js'
export { kmsKeySpec } from '../keys/sources/kms.js'

/**
 * `k1:v1,k2:v2` → record; sops (parseKMSEncryptionContext) neither trims nor allows a second
 * `:` or an empty pair, and any such input fails the whole flag (exit 6). An empty string means
 * no context (undefined), as in sops.
 */
export function parseEncryptionContext(s: string): Record<string, string> | undefined {
  if (s === '') return undefined
  const entries: [string, string][] = []
  for (const pair of s.split(',')) {
    const parts = pair.split(':')
    if (parts.length !== 2) {
      throw new EncryptionContextFormatError('Invalid KMS encryption context format', {
        hint: 'Use key:value pairs separated by commas, e.g. --encryption-context app:web,env:prod',
      })
    }
    entries.push([parts[0]!, parts[1]!])
  }
  // fromEntries defines own properties, so a key like `__proto__` stays a plain entry.
  return Object.fromEntries(entries)
}

/** The KMS options of a key list (--encryption-context, --aws-profile, a flat rule's aws_profile). */
export type KmsOptions = Pick<KeySpecOptions, 'awsProfile' | 'context'>

/** sops's deduplicateKeygroup: same type and id → keep the first (role/context do not count). */
export function dedupeKeyGroup(group: readonly KeySpec[]): KeySpec[] {
  const seen = new Set<string>()
  return group.filter((key) => {
    const k = `${key.type}/${key.id}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}
