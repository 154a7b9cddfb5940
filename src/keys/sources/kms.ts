/** AWS KMS: the descriptor (names, ids, .sops.yaml entries); the implementation is ../aws-kms.ts. */
import type { FieldPath } from '../../core/field-path.js'
import { formatPath } from '../../core/field-path.js'
import { defineKeySource, requiredField, stringField, stripSpaces, type ConfigReader } from '../descriptor.js'
import type { KeySpec, KeySpecOptions } from '../types.js'

declare module '../../core/key-entry.js' {
  interface KeyTypeIds {
    kms: true
  }
}

/**
 * A role ARN appended with `+` (`arn:aws:kms:…:key/x+arn:aws:iam::1:role/r`). sops looks for
 * `+arn:aws:iam::` only; other partitions (aws-cn, aws-us-gov) are accepted here too, since sops
 * would otherwise keep the role inside the key ARN and fail at KMS time.
 */
const ROLE_SUFFIX = /\+(arn:aws[\w-]*:iam::.*)$/

/** `arn[+role]` → the key ARN (spaces stripped, as sops's NewMasterKeyFromArn) and the role ('' for none). */
export function splitRole(entry: string): { arn: string; role: string } {
  const arn = stripSpaces(entry)
  const m = ROLE_SUFFIX.exec(arn)
  return m && m.index > 0 ? { arn: arn.slice(0, m.index), role: m[1]! } : { arn, role: '' }
}

/** The spec of `arn[+role]` from a flag, env var or flat rule, with --encryption-context and the profile. */
export function kmsKeySpec(entry: string, options: KeySpecOptions = {}): KeySpec {
  const { arn, role } = splitRole(entry)
  const spec: KeySpec = { type: 'kms', id: arn }
  if (role !== '') spec.role = role
  if (options.context && Object.keys(options.context).length > 0) spec.context = { ...options.context }
  if (options.awsProfile) spec.awsProfile = options.awsProfile
  return spec
}

/** sops's kms MasterKey.ToString: `arn[+role][|k:v,…(sorted)][|profile]`. */
export function kmsLabel(arn: string, role: string, context: Readonly<Record<string, string>>, awsProfile: string): string {
  const arnRole = role !== '' ? `${arn}+${role}` : arn
  const ctx = Object.keys(context)
    .sort()
    .map((k) => `${k}:${context[k]}`)
    .join(',')
  if (awsProfile !== '') return `${arnRole}|${ctx}|${awsProfile}`
  return ctx !== '' ? `${arnRole}|${ctx}` : arnRole
}

const GROUP_FIELDS = ['arn', 'role', 'context', 'aws_profile'] as const

/** `{arn, role, context, aws_profile}` in a key_groups entry. */
function groupEntry(reader: ConfigReader, item: unknown, path: FieldPath): KeySpec[] {
  const m = reader.map(item, path, GROUP_FIELDS)
  const spec: KeySpec = { type: 'kms', id: splitRole(requiredField(reader, m, path, 'arn')).arn }
  const role = reader.string(m?.['role'], [...path, 'role'])?.trim()
  if (role) spec.role = role
  const context = groupContext(reader, m?.['context'], [...path, 'context'])
  if (context) spec.context = context
  const profile = reader.string(m?.['aws_profile'], [...path, 'aws_profile'])
  if (profile) spec.awsProfile = profile
  return [spec]
}

function groupContext(reader: ConfigReader, v: unknown, path: FieldPath): Record<string, string> | undefined {
  if (v === null || v === undefined) return undefined
  // Any key is allowed, so validate as a mapping with its own keys as the known set.
  const m = reader.map(v, path, typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [])!
  const entries = Object.entries(m).map(([k, val]) => {
    const s = reader.string(val, [...path, k])
    if (s === undefined) throw reader.error([...path, k], `${formatPath([...path, k])} must be a string, got null`)
    return [k, s] as const
  })
  return entries.length === 0 ? undefined : Object.fromEntries(entries)
}

export const kms = defineKeySource({
  type: 'kms',
  metadataField: 'kms',
  createdAt: true,
  flag: {
    name: 'kms',
    short: 'k',
    env: 'SOPS_KMS_ARN',
    usage: 'comma separated list of KMS ARNs',
    addUsage: 'add the provided comma-separated list of KMS ARNs to the list of master keys on the given file',
    rmUsage: 'remove the provided comma-separated list of KMS ARNs from the list of master keys on the given file',
    helpWith: ['aws-profile'],
  },
  config: { field: 'kms', groupField: 'kms', groupEntry },
  idOf: (f) => stringField(f, 'arn'),
  labelOf: (f) => kmsLabel(stringField(f, 'arn'), stringField(f, 'role'), typeof f.context === 'object' ? f.context : {}, stringField(f, 'aws_profile')),
  normalizeId: stripSpaces,
  specOf: kmsKeySpec,
  withEncryptionContext: (spec, context) => ({ ...spec, context: { ...context } }),
  keyService: { oneof: 1, strings: { arn: 1, role: 2, aws_profile: 4 }, maps: { context: 3 }, title: (f) => `AWS KMS key with ARN ${f.arn}` },
  load: () => import('../aws-kms.js'),
})
