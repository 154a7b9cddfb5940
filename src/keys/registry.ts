/**
 * The list of key sources, and everything derived from it: metadata fields and their order, CLI
 * flags and env vars, .sops.yaml fields, id normalisation and equality, the id shown in
 * messages, decryption order, and the module that implements each source. Nothing outside
 * src/keys switches on a key type.
 *
 * Adding a key source = its implementation file (exporting a KeySourceModule), its descriptor in
 * ./sources/ (whose `load` imports that file) and one line in KEY_SOURCES below (with its import).
 * Implementations are loaded with a dynamic import() so an age-only decrypt never loads PGP or
 * cloud SDK code.
 */
import { DuplicateDecryptionKeyTypeError, GenericError } from '../core/errors.js'
import type { MetadataKeyList } from '../core/key-entry.js'
import type { KeySourceDescriptor } from './descriptor.js'
import { splitGoCommaList, splitKeyList } from './key-list.js'
import { age } from './sources/age.js'
import { azureKv } from './sources/azure-kv.js'
import { gcpKms } from './sources/gcp-kms.js'
import { hckms } from './sources/hckms.js'
import { hcVault } from './sources/hc-vault.js'
import { kms } from './sources/kms.js'
import { pgp } from './sources/pgp.js'
import { KeyUnwrapError, type KeyEntry, type KeySource, type KeySpec, type KeySpecOptions, type KeyType } from './types.js'

export type { KeySourceDescriptor, KeySourceModule } from './descriptor.js'
export type { KeySpecOptions } from './types.js'
export { splitKeyList } from './key-list.js'
export { kmsLabel } from './sources/kms.js'

/**
 * Every key source, in the order sops reads the fields of one metadata key group (stores.go
 * internalGroupFrom), which is the file order used for decryption attempts before the
 * decryption-order sort.
 */
export const KEY_SOURCES = [kms, gcpKms, hckms, azureKv, hcVault, pgp, age] as const

/**
 * The descriptors by name. Each descriptor file also adds its type id to core's KeyType;
 * exporting them keeps those files in the library's .d.ts (src/index.ts names this module), so
 * KeyType is the full union for library users too.
 */
export { age, azureKv, gcpKms, hckms, hcVault, kms, pgp }
export type KnownKeySources = typeof KEY_SOURCES

/** The long name of a key flag (`age`, `gcp-kms`, …), and of its --add-/--rm- forms. */
export type KeySourceFlagName = (typeof KEY_SOURCES)[number]['flag']['name']
export type KeyFlagName = KeySourceFlagName | `add-${KeySourceFlagName}` | `rm-${KeySourceFlagName}`

/** The descriptor's former name, kept for importers. */
export type KeyProvider = KeySourceDescriptor

/** sops's other orders of the key types; a source missing from one of these lists comes last. */
const SOPS_ORDERS = {
  /** Building one group from the CLI key flags (main.go keyGroups). */
  cli: ['kms', 'gcp_kms', 'hckms', 'azure_kv', 'pgp', 'hc_vault', 'age'],
  /** Building one group from a creation rule, flat or key_groups (config.go). */
  config: ['age', 'pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault'],
  /** The key flags in sops's help and completion of encrypt, edit and the global options. */
  helpKeys: ['kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'pgp', 'age'],
  /** The --add-…/--rm-… flags in sops's help and completion. */
  helpAddRemove: ['gcp_kms', 'hckms', 'azure_kv', 'kms', 'hc_vault', 'age', 'pgp'],
  /** The key flags of `groups add` in sops's help. */
  helpGroupsAdd: ['pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'age'],
} as const satisfies Record<string, readonly KeyType[]>

export type SopsKeyOrder = keyof typeof SOPS_ORDERS

/** The sources in one of sops's orders (a stable sort: unlisted sources keep their list order, last). */
export function keySourcesIn(order: SopsKeyOrder): readonly KeySourceDescriptor[] {
  const list: readonly string[] = SOPS_ORDERS[order]
  const rank = (d: KeySourceDescriptor) => (list.includes(d.type) ? list.indexOf(d.type) : list.length)
  return [...KEY_SOURCES].sort((a, b) => rank(a) - rank(b))
}

/** Key types in metadata group order (kms, gcp_kms, hckms, azure_kv, hc_vault, pgp, age). */
export const KEY_TYPES: readonly KeyType[] = KEY_SOURCES.map((d) => d.type)

/** The descriptors under their former name, kept for importers. */
export const KEY_PROVIDERS: readonly KeySourceDescriptor[] = KEY_SOURCES

/** Order in which sops builds one group from CLI key flags (main.go keyGroups). */
export const CLI_KEY_ORDER: readonly KeyType[] = keySourcesIn('cli').map((d) => d.type)

/** Order in which sops builds one group from a creation rule (config.go). */
export const CONFIG_KEY_ORDER: readonly KeyType[] = keySourcesIn('config').map((d) => d.type)

/** What core's metadata reader and writer need to know of each type, in metadata order. */
export const METADATA_KEY_LISTS: readonly MetadataKeyList[] = KEY_SOURCES.map((d) => ({
  type: d.type,
  metadataField: d.metadataField,
  createdAt: d.createdAt,
  alwaysInKeyGroups: d.alwaysInKeyGroups === true,
  checkEntry: d.checkEntry,
}))

/** sops.DefaultDecryptionOrder: offline keys first. */
export const DEFAULT_DECRYPTION_ORDER: readonly string[] = ['age', 'pgp']

export const DECRYPTION_ORDER_ENV = 'SOPS_DECRYPTION_ORDER'

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value)
}

export function keyProvider(type: KeyType): KeySourceDescriptor {
  const p = KEY_SOURCES.find((x) => x.type === type)
  if (!p) throw new GenericError(`unknown key type ${type}`, { code: 'UNKNOWN_KEY_TYPE' })
  return p
}

export function providerForMetadataField(name: string): KeySourceDescriptor | undefined {
  return KEY_SOURCES.find((p) => p.metadataField === name)
}

// ---- specs: ids as flags, env vars and .sops.yaml give them --------------------------------

/** An id as sops's constructor for that type normalises it (spaces stripped from PGP/KMS/GCP ids, others trimmed). */
export function normalizeKeyId(type: KeyType, raw: string): string {
  return keyProvider(type).normalizeId(raw)
}

/**
 * The specs of one comma-list value (a flag, an env var, a flat rule's joined list), in list
 * order. An empty item is what sops's constructor makes of it: skipped where it skips them
 * (Vault, HuaweiCloud KMS), else a key with an empty id, refused as sops refuses it when its
 * source is made (age: `unknown recipient type: ""`; Azure: `could not parse ""`) or when it
 * wraps the data key (PGP, KMS, GCP KMS: `failed to encrypt new data key with master key ""`).
 */
export function keySpecsFromList(type: KeyType, value: string, options: KeySpecOptions = {}): KeySpec[] {
  const d = keyProvider(type)
  return splitGoCommaList(value)
    .map((item) => item.trim())
    .filter((entry) => entry !== '' || !d.skipsEmptyListItems)
    .map((entry) => d.specOf?.(entry, options) ?? { type, id: d.normalizeId(entry) })
}

/**
 * The specs of one group from the key flags, in sops's CLI order: `read(flag)` gives the values
 * of `--<prefix><flag>` (or its env var, when the caller reads them). The options (KMS context
 * and profile) go to every key; sources other than KMS ignore them.
 */
export function keySpecsFromFlags(read: (flag: string) => readonly string[], options: KeySpecOptions = {}, prefix: '' | 'add-' | 'rm-' = ''): KeySpec[] {
  return keySourcesIn('cli').flatMap((d) => read(prefix + d.flag.name).flatMap((v) => keySpecsFromList(d.type, v, options)))
}

/** --encryption-context applied to a flat rule's key (sops does so for KMS keys only). */
export function withEncryptionContext(spec: KeySpec, context: Record<string, string>): KeySpec {
  return keyProvider(spec.type).withEncryptionContext?.(spec, context) ?? spec
}

/** The same master key? sops compares MasterKey.ToString: type and id (PGP fingerprints in any case). */
export function sameKey(a: { readonly type: KeyType; readonly id: string }, b: { readonly type: KeyType; readonly id: string }): boolean {
  if (a.type !== b.type) return false
  const same = keyProvider(a.type).sameId
  return same ? same(a.id, b.id) : a.id === b.id
}

// ---- sources ------------------------------------------------------------------------------

/** Display id of an entry without loading its module (for messages and --rm-* matching). */
export function keyIdOf(entry: KeyEntry): string {
  return keyProvider(entry.type).idOf(entry.fields)
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
