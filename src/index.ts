/**
 * The tsops library: decrypt and encrypt sops files from Node.
 *
 *   import { decryptFile } from 'tsops'
 *   const config = await decryptFile('secrets.enc.yaml')
 *
 * Importing this module loads no CLI code and no cloud SDK; formats and key sources load on
 * first use. Errors are TsopsError subclasses with `code` and `exitCode`.
 */
import { readFile } from 'node:fs/promises'
import { TreeMap } from './core/tree.js'
import { GenericError } from './core/errors.js'
import { loadEncryptedParser, loadFormat, resolveFormatName } from './formats/registry.js'
import type { FormatName } from './formats/format.js'
import { decryptDocument } from './pipeline/decrypt.js'
import { encryptDocument } from './pipeline/encrypt.js'
import { keySourceFromSpec, parseDecryptionOrder } from './keys/registry.js'
import type { KeyContext, KeySource, KeyType } from './keys/types.js'
import type { EncryptionRules } from './core/rules.js'
import { fromPlain, toPlain, type PlainValue } from './api/values.js'

export * from './core/errors.js'
export type { FormatName } from './formats/format.js'
export type { EncryptionRules } from './core/rules.js'
export type { PlainValue } from './api/values.js'

export interface KeyOptions {
  /** Age identities (AGE-SECRET-KEY-1…) to try, in addition to SOPS_AGE_KEY & co. */
  ageIdentities?: string[]
  /** Environment to read key settings from (defaults to process.env). */
  env?: Record<string, string | undefined>
  /** Key types to try first, e.g. ['age', 'pgp']. */
  decryptionOrder?: string[]
}

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

function keyContext(options: KeyOptions): KeyContext {
  return { env: options.env ?? process.env, ageIdentities: options.ageIdentities }
}

async function decryptBytes(bytes: Uint8Array, format: FormatName, options: DecryptOptions) {
  const parse = await loadEncryptedParser(format)
  const doc = parse(bytes)
  const fmt = await loadFormat(format)
  const result = await decryptDocument(doc, {
    ctx: keyContext(options),
    ignoreMac: options.ignoreMac,
    decryptionOrder: options.decryptionOrder ? parseDecryptionOrder(options.decryptionOrder.join(',')) : undefined,
    rawStrings: format === 'binary',
    decodeLiteral: fmt.decodeLiteral?.bind(fmt),
  })
  result.dataKey.fill(0)
  return doc
}

function branchValue(branches: TreeMap[]): PlainValue {
  if (branches.length === 1) return toPlain(branches[0]!)
  return branches.map((b) => toPlain(b))
}

/** Decrypt a sops file to JS values (several YAML documents give an array). */
export async function decryptFile(path: string, options?: DecryptOptions): Promise<PlainValue>
export async function decryptFile(path: string, options: DecryptTextOptions): Promise<string>
export async function decryptFile(path: string, options: DecryptOptions & { output?: 'text' } = {}): Promise<PlainValue | string> {
  const format = resolveFormatName(options.format, path)
  const bytes = await readFile(path)
  return finish(await decryptBytes(bytes, format, options), format, options.output)
}

/** Decrypt the text of a sops file (format required). */
export async function decrypt(text: string | Uint8Array, options: DecryptOptions & { format: FormatName }): Promise<PlainValue>
export async function decrypt(text: string | Uint8Array, options: DecryptTextOptions & { format: FormatName }): Promise<string>
export async function decrypt(text: string | Uint8Array, options: DecryptOptions & { format: FormatName; output?: 'text' }): Promise<PlainValue | string> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text
  return finish(await decryptBytes(bytes, options.format, options), options.format, options.output)
}

async function finish(doc: Awaited<ReturnType<typeof decryptBytes>>, format: FormatName, output: 'text' | undefined): Promise<PlainValue | string> {
  if (output !== 'text') return branchValue(doc.branches)
  const fmt = await loadFormat(format)
  return Buffer.from(fmt.emit({ branches: doc.branches, metadata: undefined, origin: doc.origin })).toString('utf8')
}

export interface EncryptOptions extends KeyOptions, EncryptionRules {
  format: FormatName
  /** Recipients / fingerprints / ARNs per key type, all in one key group. */
  age?: string[]
  pgp?: string[]
  keys?: { type: KeyType; id: string }[]
  shamirThreshold?: number
}

/**
 * Encrypt a plaintext file (string/bytes in `format`) or JS values; returns the encrypted file text.
 */
export async function encrypt(input: string | Uint8Array | Record<string, unknown>, options: EncryptOptions): Promise<string> {
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
  if (specs.length === 0) throw new GenericError('no keys provided: pass age, pgp or keys')
  const sources: KeySource[] = await Promise.all(specs.map((s) => keySourceFromSpec(s.type, s.id)))
  const { format: _f, age: _a, pgp: _p, keys: _k, shamirThreshold, ageIdentities: _i, env: _e, decryptionOrder: _d, ...rules } = options
  await encryptDocument(format, doc, { keyGroups: [sources], shamirThreshold, rules, ctx: keyContext(options) })
  return Buffer.from(format.emit(doc)).toString('utf8')
}
