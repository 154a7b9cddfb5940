/**
 * The single place that maps a key type to everything derived from it: metadata field, CLI flag
 * and env var, .sops.yaml fields, the id shown in messages, decryption order, and the module that
 * implements it. Nothing else in tsops switches on a key type.
 *
 * Adding a key source = one file exporting a KeySourceModule + its `load` line below. Modules are
 * loaded with a dynamic import() so an age-only decrypt never loads PGP or cloud SDK code.
 */
import { DuplicateDecryptionKeyTypeError, GenericError } from '../core/errors.js'
import { KeyUnwrapError, type KeyEntry, type KeyFields, type KeySource, type KeyType } from './types.js'

/** What each key-source file exports. */
export interface KeySourceModule {
  /** A source for an entry read from a file's metadata (enc and all other fields included). */
  fromEntry(entry: KeyEntry): KeySource
  /** A source for one id given on the CLI, in an env var or in .sops.yaml (already split on commas). */
  fromSpec(spec: string, options?: KeySpecOptions): KeySource
}

/** What a spec carries besides its id (KMS only today; other sources ignore it). */
export interface KeySpecOptions {
  /** IAM role to assume. */
  role?: string
  /** Encryption context. */
  context?: Record<string, string>
  /** AWS shared-config profile. */
  awsProfile?: string
}

export interface KeyProvider {
  readonly type: KeyType
  /** Field name inside a key group of the `sops` metadata block. */
  readonly metadataField: string
  /** `--<flag>` / `-<short>` on encrypt/edit, and `--add-<flag>` / `--rm-<flag>` on rotate. */
  readonly cliFlag: string
  readonly cliShort?: string
  /** Env var read when the flag is absent (comma list). */
  readonly envVar: string
  /** Field of a flat creation rule in .sops.yaml. */
  readonly configField: string
  /** Field inside a `key_groups` entry in .sops.yaml. */
  readonly configGroupField: string
  /** The key's id from its metadata fields (what --rm-* and key-group diffs match on). */
  idOf(fields: KeyFields): string
  /** How sops's messages name the key (MasterKey.ToString) when that is more than the id. */
  labelOf?(fields: KeyFields): string
  /** Undefined until the source is implemented: files using it still parse, the key just fails. */
  readonly load?: () => Promise<KeySourceModule>
}

function field(fields: KeyFields, name: string): string {
  const v = fields[name]
  return typeof v === 'string' ? v : ''
}

/**
 * In the order sops reads the fields of one metadata key group (stores.go internalGroupFrom),
 * which is the file order used for decryption attempts before the decryption-order sort.
 */
export const KEY_PROVIDERS: readonly KeyProvider[] = [
  {
    type: 'kms',
    metadataField: 'kms',
    cliFlag: 'kms',
    cliShort: 'k',
    envVar: 'SOPS_KMS_ARN',
    configField: 'kms',
    configGroupField: 'kms',
    idOf: (f) => field(f, 'arn'),
    labelOf: (f) => kmsLabel(field(f, 'arn'), field(f, 'role'), typeof f.context === 'object' ? f.context : {}, field(f, 'aws_profile')),
    load: () => import('./aws-kms.js'),
  },
  {
    type: 'gcp_kms',
    metadataField: 'gcp_kms',
    cliFlag: 'gcp-kms',
    envVar: 'SOPS_GCP_KMS_IDS',
    configField: 'gcp_kms',
    configGroupField: 'gcp_kms',
    idOf: (f) => field(f, 'resource_id'),
    load: () => import('./gcp-kms.js'),
  },
  {
    type: 'hckms',
    metadataField: 'hckms',
    cliFlag: 'hckms',
    envVar: 'SOPS_HUAWEICLOUD_KMS_IDS',
    configField: 'hckms',
    configGroupField: 'hckms',
    idOf: (f) => field(f, 'key_id'),
    load: () => import('./hckms.js'),
  },
  {
    type: 'azure_kv',
    metadataField: 'azure_kv',
    cliFlag: 'azure-kv',
    envVar: 'SOPS_AZURE_KEYVAULT_URLS',
    configField: 'azure_keyvault',
    configGroupField: 'azure_keyvault',
    idOf: (f) => `${field(f, 'vault_url')}/keys/${field(f, 'name')}/${field(f, 'version')}`,
    load: () => import('./azure-kv.js'),
  },
  {
    type: 'hc_vault',
    metadataField: 'hc_vault',
    cliFlag: 'hc-vault-transit',
    envVar: 'SOPS_VAULT_URIS',
    configField: 'hc_vault_transit_uri',
    configGroupField: 'hc_vault',
    idOf: (f) => `${field(f, 'vault_address')}/v1/${field(f, 'engine_path')}/keys/${field(f, 'key_name')}`,
    load: () => import('./vault-transit.js'),
  },
  {
    type: 'pgp',
    metadataField: 'pgp',
    cliFlag: 'pgp',
    cliShort: 'p',
    envVar: 'SOPS_PGP_FP',
    configField: 'pgp',
    configGroupField: 'pgp',
    idOf: (f) => field(f, 'fp'),
    load: () => import('./pgp.js'),
  },
  {
    type: 'age',
    metadataField: 'age',
    cliFlag: 'age',
    cliShort: 'a',
    envVar: 'SOPS_AGE_RECIPIENTS',
    configField: 'age',
    configGroupField: 'age',
    idOf: (f) => field(f, 'recipient'),
    load: () => import('./age.js'),
  },
]

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

/** Key types in metadata group order (kms, gcp_kms, hckms, azure_kv, hc_vault, pgp, age). */
export const KEY_TYPES: readonly KeyType[] = KEY_PROVIDERS.map((p) => p.type)

/** Order in which sops builds one group from CLI key flags (main.go keyGroups). */
export const CLI_KEY_ORDER: readonly KeyType[] = ['kms', 'gcp_kms', 'hckms', 'azure_kv', 'pgp', 'hc_vault', 'age']

/** Order in which sops builds one group from a flat creation rule (config.go). */
export const CONFIG_KEY_ORDER: readonly KeyType[] = ['age', 'pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault']

/** sops.DefaultDecryptionOrder: offline keys first. */
export const DEFAULT_DECRYPTION_ORDER: readonly string[] = ['age', 'pgp']

export const DECRYPTION_ORDER_ENV = 'SOPS_DECRYPTION_ORDER'

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value)
}

export function keyProvider(type: KeyType): KeyProvider {
  const p = KEY_PROVIDERS.find((x) => x.type === type)
  if (!p) throw new GenericError(`unknown key type ${type}`, { code: 'UNKNOWN_KEY_TYPE' })
  return p
}

export function providerForMetadataField(name: string): KeyProvider | undefined {
  return KEY_PROVIDERS.find((p) => p.metadataField === name)
}

/** Display id of an entry without loading its module (for messages and --rm-* matching). */
export function keyIdOf(entry: KeyEntry): string {
  return keyProvider(entry.type).idOf(entry.fields)
}

/** sops splits key lists on commas, trims each item and drops empty ones. */
export function splitKeyList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** How sops's messages name the key of an entry (MasterKey.ToString). */
export function keyLabelOf(entry: KeyEntry): string {
  const p = keyProvider(entry.type)
  return p.labelOf?.(entry.fields) ?? p.idOf(entry.fields)
}

/** A source for a metadata entry. Types without an implementation yield a source that fails with a reason. */
export async function keySourceFromEntry(entry: KeyEntry): Promise<KeySource> {
  const p = keyProvider(entry.type)
  if (!p.load) return unsupportedSource(p.type, p.idOf(entry.fields))
  return (await p.load()).fromEntry(entry)
}

/** A source for one id from the CLI, env or config. Unimplemented types are an error here (encrypting). */
export async function keySourceFromSpec(type: KeyType, spec: string, options?: KeySpecOptions): Promise<KeySource> {
  const p = keyProvider(type)
  if (!p.load) throw new GenericError(`${type} keys are not supported by this version of tsops`, { code: 'UNSUPPORTED_KEY_TYPE' })
  return (await p.load()).fromSpec(spec, options)
}

/** All sources of a comma list (`--age a,b`, SOPS_PGP_FP, `pgp: "FP1,FP2"`). */
export async function keySourcesFromList(type: KeyType, list: string): Promise<KeySource[]> {
  return Promise.all(splitKeyList(list).map((spec) => keySourceFromSpec(type, spec)))
}

function unsupportedSource(type: KeyType, id: string): KeySource {
  const reason = `${type} keys are not supported by this version of tsops`
  return {
    type,
    id,
    wrap: () => Promise.reject(new GenericError(reason, { code: 'UNSUPPORTED_KEY_TYPE' })),
    unwrap: () => Promise.reject(new KeyUnwrapError(type, id, reason)),
  }
}

/**
 * `--decryption-order` / SOPS_DECRYPTION_ORDER: a comma list of type ids. Like sops, unknown ids
 * are kept (they simply match nothing) and a repeated id is exit 112.
 */
export function parseDecryptionOrder(value: string | undefined): readonly string[] {
  if (value === undefined || value === '') return DEFAULT_DECRYPTION_ORDER
  const order = value.split(',').map((s) => s.trim())
  const seen = new Set<string>()
  for (const t of order) {
    if (seen.has(t)) throw new DuplicateDecryptionKeyTypeError(`Duplicate decryption key type: ${t}`)
    seen.add(t)
  }
  return order
}

/** The flag wins over the env var; neither gives the default order. */
export function resolveDecryptionOrder(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): readonly string[] {
  return parseDecryptionOrder(flag || env[DECRYPTION_ORDER_ENV])
}

/** Listed types first in list order; the rest keep their file order (a stable sort, like sops). */
export function sortByDecryptionOrder<T extends { readonly type: KeyType }>(items: readonly T[], order: readonly string[]): T[] {
  const rank = (t: KeyType) => {
    const i = order.indexOf(t)
    return i === -1 ? Number.MAX_SAFE_INTEGER : i
  }
  return [...items].sort((a, b) => rank(a.type) - rank(b.type)) // Array.prototype.sort is stable
}
