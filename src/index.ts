/**
 * The tsops library: decrypt and encrypt sops files from Node.
 *
 *   import { loadSecrets } from 'tsops'
 *   const config = await loadSecrets('config/secrets.enc.yaml')   // cached per file
 *
 * Importing this module loads no CLI code and no cloud SDK; formats and key sources load on
 * first use. Nothing is written to disk. Errors are TsopsError subclasses with a stable `code`
 * and sops's `exitCode`.
 */
import type { TreeMap } from './core/tree.js'
import { GenericError } from './core/errors.js'
import { RULE_FIELDS, type EncryptionRules } from './core/rules.js'
import { loadFormat, resolveFormatName } from './formats/registry.js'
import type { FormatName } from './formats/format.js'
import { encryptDocument } from './pipeline/encrypt.js'
import { keySourceFromSpec } from './keys/registry.js'
import type { KeySource, KeyType } from './keys/types.js'
import { fromPlain, type PlainValue } from './api/values.js'
import { decryptionOrderFor, keyContextFor, type KeyOptions } from './api/options.js'
import { openEncrypted, readEncryptedFile, type Opened } from './api/open.js'
import { branchValue, clearSecretsCache as clearCached, loadSecrets as loadCached, type LoadSecretsOptions } from './api/cache.js'
import {
  checkArgument,
  checkOptions,
  DECRYPT_OPTIONS,
  ENCRYPT_INPUT,
  ENCRYPT_OPTIONS,
  LOAD_OPTIONS,
  PATH_ARGUMENT,
  TEXT_ARGUMENT,
} from './api/validate.js'

export * from './core/errors.js'
export { DataKeyUnavailableError } from './keys/datakey.js'
export type { FormatName } from './formats/format.js'
export type { EncryptionRules } from './core/rules.js'
export type { KeyType } from './keys/types.js'
/** Type-only (nothing more is loaded): keeps the key sources' descriptors, which extend KeyType, in this .d.ts's program. */
export type { KnownKeySources } from './keys/registry.js'
export type { PlainValue } from './api/values.js'
export type { KeyOptions } from './api/options.js'
export type { LoadSecretsOptions } from './api/cache.js'

export interface DecryptOptions extends KeyOptions {
  /** File format; detected from the file name when omitted (decryptFile). */
  format?: FormatName
  /** Skip MAC verification (not recommended). */
  ignoreMac?: boolean
}

export interface DecryptTextOptions extends DecryptOptions {
  /** Return the plaintext file (same format) instead of JS values. */
  output: 'text'
}

async function open(bytes: Uint8Array, format: FormatName, options: DecryptOptions): Promise<Opened> {
  const ctx = keyContextFor(options)
  const opened = await openEncrypted(bytes, format, { ctx, ignoreMac: options.ignoreMac, decryptionOrder: decryptionOrderFor(options, ctx) })
  opened.close()
  return opened
}

async function finish(opened: Opened, format: FormatName, output: 'text' | undefined): Promise<PlainValue | string> {
  if (output !== 'text') return branchValue(opened.doc.branches)
  const fmt = await loadFormat(format)
  return Buffer.from(fmt.emit({ branches: opened.doc.branches, metadata: undefined, origin: opened.doc.origin })).toString('utf8')
}

/**
 * Decrypt a sops file to JS values: ints are numbers (bigint beyond 2^53), timestamps Dates,
 * several YAML documents an array. Every call reads the file and unwraps its data key; use
 * loadSecrets for a per-process cache.
 */
export async function decryptFile(path: string, options?: DecryptOptions): Promise<PlainValue>
export async function decryptFile(path: string, options: DecryptTextOptions): Promise<string>
export async function decryptFile(path: string, options: DecryptOptions & { output?: 'text' } = {}): Promise<PlainValue | string> {
  checkArgument('decryptFile', 'path', path, PATH_ARGUMENT)
  checkOptions('decryptFile', options, DECRYPT_OPTIONS)
  const format = resolveFormatName(options.format, path)
  const bytes = await readEncryptedFile(path)
  return finish(await open(bytes, format, options), format, options.output)
}

/** Decrypt the text of a sops file (format required). */
export async function decrypt(text: string | Uint8Array, options: DecryptOptions & { format: FormatName }): Promise<PlainValue>
export async function decrypt(text: string | Uint8Array, options: DecryptTextOptions & { format: FormatName }): Promise<string>
export async function decrypt(text: string | Uint8Array, options: DecryptOptions & { format: FormatName; output?: 'text' }): Promise<PlainValue | string> {
  checkArgument('decrypt', 'text', text, TEXT_ARGUMENT)
  checkOptions('decrypt', options, DECRYPT_OPTIONS, ['format'])
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text
  return finish(await open(bytes, options.format, options), options.format, options.output)
}

/**
 * Decrypt once per process, then serve from memory while the file is unchanged (same size and
 * times): a second call costs one stat(), and a changed file whose keys are unchanged reopens
 * with the cached data key. Each call returns a fresh copy. `T` is an unchecked cast for
 * callers who know their config's shape.
 */
export async function loadSecrets<T = PlainValue>(path: string, options: LoadSecretsOptions = {}): Promise<T> {
  checkArgument('loadSecrets', 'path', path, PATH_ARGUMENT)
  checkOptions('loadSecrets', options, LOAD_OPTIONS)
  return (await loadCached(path, options)) as T
}

/** Forget one file (or every file) and zero the data keys held for it. */
export function clearSecretsCache(path?: string): void {
  if (path !== undefined) checkArgument('clearSecretsCache', 'path', path, PATH_ARGUMENT)
  clearCached(path)
}

export interface EncryptOptions extends KeyOptions, EncryptionRules {
  format: FormatName
  /** Recipients / fingerprints / ARNs per key type, all in one key group. */
  age?: string[]
  pgp?: string[]
  keys?: { type: KeyType; id: string }[]
  shamirThreshold?: number
}

/** Only the rule fields: the key options must never end up in the file's metadata. */
function rulesOf(options: EncryptOptions): EncryptionRules {
  const rules: EncryptionRules = {}
  for (const [name] of RULE_FIELDS) if (options[name]) rules[name] = options[name]
  if (options.macOnlyEncrypted) rules.macOnlyEncrypted = true
  return rules
}

/**
 * Encrypt a plaintext file (string/bytes in `format`) or JS values; returns the encrypted file text.
 */
export async function encrypt(input: string | Uint8Array | Record<string, unknown>, options: EncryptOptions): Promise<string> {
  checkArgument('encrypt', 'input', input, ENCRYPT_INPUT)
  checkOptions('encrypt', options, ENCRYPT_OPTIONS, ['format'])
  const format = await loadFormat(options.format)
  const doc =
    typeof input === 'string' || input instanceof Uint8Array
      ? format.parse(typeof input === 'string' ? Buffer.from(input, 'utf8') : input)
      : { branches: [fromPlain(input) as TreeMap], metadata: undefined }
  const specs = [
    ...(options.age ?? []).map((id) => ({ type: 'age' as const, id })),
    ...(options.pgp ?? []).map((id) => ({ type: 'pgp' as const, id })),
    ...(options.keys ?? []),
  ]
  if (specs.length === 0) throw new GenericError('no keys provided: pass age, pgp or keys', { code: 'NO_KEYS' })
  const sources: KeySource[] = await Promise.all(specs.map((s) => keySourceFromSpec(s.type, s.id)))
  await encryptDocument(format, doc, { keyGroups: [sources], shamirThreshold: options.shamirThreshold, rules: rulesOf(options), ctx: keyContextFor(options) })
  return Buffer.from(format.emit(doc)).toString('utf8')
}
