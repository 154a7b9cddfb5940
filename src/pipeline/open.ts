/**
 * The one way to open an encrypted file: bytes + format -> a handle holding the decrypted tree,
 * the metadata and the data key (the MAC checked unless ignoreMac), which zeroes the key when it
 * is closed. Every reader of encrypted files (the CLI's commands, the library, the checker, the
 * git drivers) goes through `open`, so the format's decoding options, the MAC check and the
 * key's lifetime are decided here once.
 *
 *   const opened = await open(bytes, 'yaml', { ctx })
 *   try { use(opened.doc) } finally { opened.close() }      // or: using opened = await open(…)
 *
 * Data keys that are not a file's (a fresh key for encrypt or rotate, a key unwrapped only to
 * wrap it again) live inside `withDataKey`, which zeroes them just the same.
 */
import type { IvStash } from '../core/cipher.js'
import { readMetadata, type Metadata } from '../keys/metadata.js'
import { parseShowingWhere } from '../formats/excerpt.js'
import type { Document, Format, FormatName } from '../formats/format.js'
import { loadEncryptedParser, loadFormat } from '../formats/registry.js'
import type { KeyContext } from '../keys/types.js'
import { openDocument, recoverDataKey } from './decrypt.js'

/** A parsed encrypted file whose values are still encrypted. */
export interface SealedFile {
  doc: Document
  metadata: Metadata
}

export interface OpenOptions {
  /** Where master keys are looked up; not needed when `dataKey` is given. */
  ctx?: KeyContext
  /** --decryption-order / SOPS_DECRYPTION_ORDER */
  decryptionOrder?: readonly string[]
  ignoreMac?: boolean
  /**
   * A data key the caller already has for this file (a cache, a merge that unwrapped it for
   * another side): no master key is asked. The handle keeps a copy, so closing it never zeroes
   * the caller's key.
   */
  dataKey?: Uint8Array
  /**
   * Remember every value's IV so a re-encryption keeps unchanged ciphertexts (default). Readers
   * that never re-encrypt pass false and skip that work.
   */
  keepIvs?: boolean
  /** The IV stash to fill instead of a new one (a merge shares one between sides). */
  stash?: IvStash
  /** Each comment found in the clear (sops warns about every one). */
  onUnencryptedComment?: (text: string) => void
}

/** An opened file. `close()` (or `using`) zeroes the data key; the tree stays readable. */
export interface OpenedFile extends Disposable {
  format: Format
  /** The plaintext document, metadata stripped. */
  doc: Document
  metadata: Metadata
  /** The file's data key, for re-encrypting it; zeroed by close(). */
  dataKey: Uint8Array
  /** IVs of every decrypted value (empty when keepIvs is false). */
  stash: IvStash
  close(): void
}

/** Parse an encrypted file (binary files are stored as JSON); its metadata must be sops's. */
export async function parseSealed(bytes: Uint8Array, format: FormatName): Promise<SealedFile> {
  return sealedDocument(await parseEncryptedDocument(bytes, format))
}

/**
 * Parse an encrypted file, its metadata left unread in `doc.metadata`. Every reader of encrypted
 * files parses through here, so a syntax error shows where it is (a masked line and a caret, for
 * the `tsops` persona) whichever command met it.
 */
export async function parseEncryptedDocument(bytes: Uint8Array, format: FormatName): Promise<Document> {
  const parse = await loadEncryptedParser(format)
  return parseShowingWhere(bytes, () => parse(bytes))
}

/** An encrypted document already parsed, with its metadata read (sops's errors when it is not sops's). */
export function sealedDocument(doc: Document): SealedFile {
  return { doc, metadata: readMetadata(doc.metadata) }
}

/**
 * Decrypt an encrypted file: its bytes, or a file already parsed with parseSealed (whose
 * document is decrypted in place). One data-key unwrap unless `dataKey` is given; a failure
 * (no key, a value or the MAC that does not authenticate) leaves no key behind.
 */
export async function open(source: Uint8Array | SealedFile, formatName: FormatName, options: OpenOptions): Promise<OpenedFile> {
  const [format, sealed] = await Promise.all([loadFormat(formatName), source instanceof Uint8Array ? parseSealed(source, formatName) : source])
  const dataKey = await dataKeyOf(sealed, options)
  return withDataKeyOnFailure(dataKey, () => {
    const { stash } = openDocument(sealed.doc, sealed.metadata, dataKey, {
      keepIvs: options.keepIvs,
      stash: options.stash,
      ignoreMac: options.ignoreMac,
      rawStrings: format.capabilities.rawStrings,
      decodeLiteral: format.decodeLiteral?.bind(format),
      onUnencryptedComment: options.onUnencryptedComment,
    })
    const close = () => zero(dataKey)
    return { format, doc: sealed.doc, metadata: sealed.metadata, dataKey, stash, close, [Symbol.dispose]: close }
  })
}

async function dataKeyOf(sealed: SealedFile, options: OpenOptions): Promise<Uint8Array> {
  // A copy: the caller may zero the key it handed over while the handle still holds its own.
  if (options.dataKey) return Uint8Array.from(options.dataKey)
  if (!options.ctx) throw new TypeError('open: a key context or a data key is needed')
  return (await recoverDataKey(sealed.doc, { ctx: options.ctx, decryptionOrder: options.decryptionOrder })).dataKey
}

/** Run `use` with a data key that is zeroed when it returns or throws. */
export async function withDataKey<T>(dataKey: Uint8Array, use: (dataKey: Uint8Array) => T | Promise<T>): Promise<T> {
  try {
    return await use(dataKey)
  } finally {
    zero(dataKey)
  }
}

/** Zero data keys held together beyond one call (a merge's keys, a cache's evicted entry). */
export function zeroDataKeys(...keys: (Uint8Array | undefined)[]): void {
  for (const key of keys) if (key) zero(key)
}

/** Run `use`; if it throws, zero the key first (a failed open hands the key to nobody). */
function withDataKeyOnFailure<T>(dataKey: Uint8Array, use: () => T): T {
  try {
    return use()
  } catch (err) {
    zero(dataKey)
    throw err
  }
}

function zero(dataKey: Uint8Array): void {
  dataKey.fill(0)
}
