/**
 * Change an encrypted file without changing more than needed (spec §1.6, §9.3):
 *
 *   decrypt (MAC checked unless ignoreMac) -> the caller changes the plaintext tree ->
 *   re-encrypt with the SAME data key, the same master-key entries (nothing re-wrapped), the
 *   same rules and the IV stash of the decrypt -> new lastmodified and MAC.
 *
 * Because every value whose path and typed plaintext did not change is encrypted again with its
 * old IV, it keeps its exact ciphertext: changing one value of fifty changes three lines of a
 * YAML file (that value, `lastmodified`, `mac`). `edit`, `set`, `unset` and `apply` use this.
 */
import { AlreadyEncryptedError, EmptyDocumentError, VersionCompareError, emitting } from '../core/errors.js'
import { SOPS_FORMAT_VERSION, type Metadata } from '../core/metadata.js'
import { withDefaultRule } from '../core/rules.js'
import type { TreeMap } from '../core/tree.js'
import type { Document, EmitOptions, Format, FormatName } from '../formats/format.js'
import { loadFormat } from '../formats/registry.js'
import { readFileAsSops } from '../io/go-errors.js'
import type { KeyContext } from '../keys/types.js'
import type { Decrypted } from './decrypt.js'
import { open, type OpenedFile } from './open.js'
import { sealDocument } from './encrypt.js'

export interface OpenFileOptions {
  ctx: KeyContext
  /** The format the encrypted file is stored in. */
  format: FormatName
  ignoreMac?: boolean
  decryptionOrder?: readonly string[]
}

/** A decrypted file plus what re-encrypting it needs. The caller must close() it when done. */
export interface OpenedFileWithBytes extends OpenedFile {
  /** The file's bytes as read. */
  original: Buffer
}

/**
 * Read, parse and decrypt an encrypted file (one data-key unwrap). A file that cannot be read is
 * sops's `Error reading file: open FILE: …` (exit 2), FILE as the caller names it.
 */
export async function openEncryptedFile(file: string, options: OpenFileOptions): Promise<OpenedFileWithBytes> {
  const original = readFileAsSops(file)
  const opened = await open(original, options.format, { ctx: options.ctx, ignoreMac: options.ignoreMac, decryptionOrder: options.decryptionOrder })
  return Object.assign(opened, { original })
}

export interface ReencryptOptions {
  /**
   * Write our format version when the file's is older (what `sops edit` does). `set`/`unset`
   * keep the file's version, like sops. Default true.
   */
  bumpVersion?: boolean
  /** Metadata to use instead of the decrypted one (edit -s: the user may have edited it). */
  metadata?: Metadata
  now?: Date
}

/** What reencrypt needs from a decrypt: the key, its metadata and the IVs it saw. */
export type DecryptedKeys = Pick<Decrypted, 'metadata' | 'dataKey' | 'stash'>

/**
 * Encrypt `plaintextDoc` (changed in place) with the data key, master keys and rules of the
 * decrypted file; unchanged values keep their ciphertext. Returns the document with metadata.
 */
export function reencrypt(format: Format, plaintextDoc: Document, decrypted: DecryptedKeys, options: ReencryptOptions = {}): Document {
  const metadata = options.metadata ?? decrypted.metadata
  const version = options.bumpVersion === false ? metadata.version : versionAfterEdit(metadata.version)
  return sealDocument(format, plaintextDoc, decrypted.dataKey, {
    keyGroups: metadata.keyGroups,
    shamirThreshold: metadata.shamirThreshold,
    // sops loads a file that has no rule (a binary file) with the default suffix (stores.go,
    // ToInternal) and so writes `unencrypted_suffix` back into it: what sops writes wins.
    rules: withDefaultRule(metadata.rules),
    stash: decrypted.stash,
    version,
    now: options.now,
  })
}

/** sops's validateFileForEncryption: at least one document, no top-level `sops` data key. */
export function assertReencryptable(format: Format, branches: TreeMap[]): void {
  if (branches.length === 0) throw new EmptyDocumentError()
  // A fresh document: an encrypted parse's origin still remembers the old metadata key.
  if (format.hasMetadataKey({ branches, metadata: undefined })) throw new AlreadyEncryptedError()
}

export interface WithDecryptedOptions extends OpenFileOptions, ReencryptOptions {
  /** Write in another format than the file's (--output-type); default the file's. */
  outputFormat?: FormatName
  emitOptions?: EmitOptions
}

export interface Reencrypted {
  /** The new encrypted file. */
  bytes: Uint8Array
  /** Whether the mutation reported a change. */
  changed: boolean
}

/**
 * Decrypt `file`, let `mutate` change the plaintext tree (returning false when it changed
 * nothing), and re-encrypt it with the same key and IVs. Nothing is written: the caller
 * decides (e.g. `set --idempotent` skips the write when nothing changed).
 */
export async function withDecrypted(
  file: string,
  options: WithDecryptedOptions,
  mutate: (doc: Document, opened: OpenedFileWithBytes) => boolean | void | Promise<boolean | void>,
): Promise<Reencrypted> {
  const opened = await openEncryptedFile(file, options)
  try {
    const changed = (await mutate(opened.doc, opened)) !== false
    const output = options.outputFormat && options.outputFormat !== opened.format.name ? await loadFormat(options.outputFormat) : opened.format
    assertReencryptable(output, opened.doc.branches)
    const sealed = reencrypt(opened.format, opened.doc, opened, options)
    return { bytes: emitEncrypted(output, sealed, opened.format, options.emitOptions), changed }
  } finally {
    opened.close()
  }
}

/** Emit an encrypted document; a format's layout origin only helps when it is the same format. */
export function emitEncrypted(output: Format, doc: Document, parsedAs: Format, emitOptions?: EmitOptions): Uint8Array {
  const origin = output.name === parsedAs.name ? doc.origin : undefined
  return emitting('Could not marshal tree: ', () => output.emit({ branches: doc.branches, metadata: doc.metadata, origin }, emitOptions))
}

// ---- version ----------------------------------------------------------------------------

interface SemVer {
  core: [bigint, bigint, bigint]
  pre: string[]
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

function parseSemVer(v: string): SemVer | undefined {
  const m = SEMVER.exec(v.startsWith('v') ? v.slice(1) : v)
  if (!m) return undefined
  const pre = m[4] === undefined ? [] : m[4].split('.')
  // blang/semver rejects numeric pre-release parts with leading zeros.
  if (pre.some((p) => /^0\d+$/.test(p))) return undefined
  return { core: [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)], pre }
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a)
  const bn = /^\d+$/.test(b)
  if (an && bn) return Math.sign(Number(BigInt(a) - BigInt(b)))
  if (an !== bn) return an ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** Semantic-version precedence (build metadata ignored). */
export function compareSemVer(a: SemVer, b: SemVer): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i]! < b.core[i]! ? -1 : 1
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const c = compareIdentifiers(a.pre[i]!, b.pre[i]!)
    if (c !== 0) return c
  }
  return Math.sign(a.pre.length - b.pre.length)
}

/**
 * The `version` an edited file gets (edit.go / version.AIsNewerThanB): ours when the file's is
 * older (or a sops 1.x one), else the file's unchanged. A non-semver version is exit 202.
 */
export function versionAfterEdit(fileVersion: string, ours: string = SOPS_FORMAT_VERSION): string {
  if (fileVersion.startsWith('1.')) return ours
  const a = parseSemVer(ours)
  const b = parseSemVer(fileVersion)
  if (!a || !b) {
    throw new VersionCompareError(`Failed to compare document version ${JSON.stringify(fileVersion)} with program version ${JSON.stringify(ours)}: not a semantic version`)
  }
  return compareSemVer(a, b) > 0 ? ours : fileVersion
}
