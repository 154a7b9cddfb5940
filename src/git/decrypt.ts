/**
 * Decryption helpers for the git drivers: open a document with a data key the caller already
 * has (a merge unwraps each distinct data key once) and a caller-chosen IV stash (so values
 * decrypted from ours and theirs keep their ciphertexts when re-encrypted).
 */
import { IvStash, ValueCipher } from '../core/cipher.js'
import { MacMismatchError, TsopsError } from '../core/errors.js'
import { macAad, readMetadata, type Metadata } from '../keys/metadata.js'
import { LeafSelector } from '../core/rules.js'
import { decryptBranches, verifyMac } from '../core/walk.js'
import type { Document, Format, FormatName } from '../formats/format.js'
import { loadEncryptedParser, loadFormat } from '../formats/registry.js'
import type { KeyContext } from '../keys/types.js'
import { recoverDataKey } from '../pipeline/decrypt.js'

export interface DriverFormat {
  format: Format
  parseEncrypted: (bytes: Uint8Array) => Document
}

export async function loadDriverFormat(name: FormatName): Promise<DriverFormat> {
  const [format, parseEncrypted] = await Promise.all([loadFormat(name), loadEncryptedParser(name)])
  return { format, parseEncrypted }
}

/** A parsed encrypted file with its metadata. */
export interface Sealed {
  doc: Document
  metadata: Metadata
}

/** Parse bytes as an encrypted file; undefined when they are not one (no metadata, or unparseable). */
export function parseSealed(bytes: Uint8Array, f: DriverFormat): Sealed | undefined {
  let doc: Document
  try {
    doc = f.parseEncrypted(bytes)
  } catch {
    return undefined
  }
  if (doc.metadata === undefined) return undefined
  return { doc, metadata: readMetadata(doc.metadata) }
}

/** Does `dataKey` decrypt this file's MAC? Only the right key passes AES-GCM authentication. */
export function keyOpens(metadata: Metadata, dataKey: Uint8Array): boolean {
  if (metadata.mac === '') return false
  try {
    new ValueCipher(dataKey).decrypt(metadata.mac, macAad(metadata))
    return true
  } catch {
    return false
  }
}

/** The data key of `sealed`: one of the known keys when it opens the file, else one unwrap. */
export async function dataKeyFor(sealed: Sealed, known: readonly Uint8Array[], ctx: KeyContext, decryptionOrder?: readonly string[]): Promise<Uint8Array> {
  for (const key of known) if (keyOpens(sealed.metadata, key)) return key
  return (await recoverDataKey(sealed.doc, { ctx, decryptionOrder })).dataKey
}

/** Decrypt `sealed.doc` in place with `dataKey`, remembering IVs in `stash`, and verify the MAC. */
export function openSealed(sealed: Sealed, dataKey: Uint8Array, stash: IvStash, f: DriverFormat): void {
  const cipher = new ValueCipher(dataKey, stash)
  const selector = new LeafSelector(sealed.metadata.rules)
  const computed = decryptBranches(sealed.doc.branches, cipher, selector, {
    rawStrings: f.format.name === 'binary',
    decodeLiteral: f.format.decodeLiteral?.bind(f.format),
  })
  let stored: string
  try {
    const mac = cipher.decrypt(sealed.metadata.mac, macAad(sealed.metadata))
    stored = typeof mac === 'string' ? mac : ''
  } catch (err) {
    throw new MacMismatchError(`Cannot decrypt MAC: ${err instanceof TsopsError ? err.message : 'unexpected error'}`)
  }
  verifyMac(stored, computed)
  sealed.doc.metadata = undefined
}

/** The first line of an error, for a one-line notice (tsops messages never hold a secret). */
export function firstLine(err: unknown): string {
  if (err instanceof TsopsError) return err.message.split('\n')[0]!.replace(/[.:]$/, '')
  return 'unexpected error'
}
