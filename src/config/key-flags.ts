/**
 * Key lists as written in flags and flat config fields: `--age a,b`, `kms: "arn1,arn2+role"`,
 * `--encryption-context k1:v1,k2:v2`. Shared by the config loader and the CLI so both normalise
 * ids the way sops's key constructors do.
 */
import { EncryptionContextFormatError } from '../core/errors.js'
import type { KeyType } from '../keys/types.js'
import type { KeySpec } from './types.js'

/** A comma list: entries trimmed, empty entries skipped (sops's trailing-comma fix). */
export function splitKeyList(s: string): string[] {
  return s
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
}

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

/**
 * sops's constructors strip every space from PGP fingerprints ("AAAA BBBB …" is a common way
 * to paste them), KMS ARNs and GCP resource ids; other ids are only trimmed.
 */
const SPACE_STRIPPED: ReadonlySet<KeyType> = new Set<KeyType>(['pgp', 'kms', 'gcp_kms'])

export function normalizeKeyId(type: KeyType, raw: string): string {
  return SPACE_STRIPPED.has(type) ? raw.replace(/ /g, '') : raw.trim()
}

/**
 * A role ARN appended with `+` (`arn:aws:kms:…:key/x+arn:aws:iam::1:role/r`). sops looks for
 * `+arn:aws:iam::` only; other partitions (aws-cn, aws-us-gov) are accepted here too, since sops
 * would otherwise keep the role inside the key ARN and fail at KMS time.
 */
const ROLE_SUFFIX = /\+(arn:aws[\w-]*:iam::.*)$/

export interface KmsOptions {
  awsProfile?: string
  context?: Record<string, string>
}

export function kmsKeySpec(entry: string, options: KmsOptions = {}): KeySpec {
  const arn = normalizeKeyId('kms', entry)
  const m = ROLE_SUFFIX.exec(arn)
  const spec: KeySpec = { type: 'kms', id: m && m.index > 0 ? arn.slice(0, m.index) : arn }
  if (m && m.index > 0) spec.role = m[1]!
  if (options.context && Object.keys(options.context).length > 0) spec.context = { ...options.context }
  if (options.awsProfile) spec.awsProfile = options.awsProfile
  return spec
}

/** The keys of one comma-list value (a flag or one flat-rule entry), in list order. */
export function keySpecsFromString(type: KeyType, value: string, kms: KmsOptions = {}): KeySpec[] {
  return splitKeyList(value).map((entry) => (type === 'kms' ? kmsKeySpec(entry, kms) : { type, id: normalizeKeyId(type, entry) }))
}

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
