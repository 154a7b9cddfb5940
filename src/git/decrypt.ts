/**
 * Decryption helpers for the git drivers: open a document with a data key the caller already
 * has (a merge unwraps each distinct data key once) and a caller-chosen IV stash (so values
 * decrypted from ours and theirs keep their ciphertexts when re-encrypted).
 */
import { ValueCipher, type IvStash } from '../core/cipher.js'
import { TsopsError } from '../core/errors.js'
import { readMetadata, type Metadata } from '../keys/metadata.js'
import type { Document, Format, FormatName } from '../formats/format.js'
import { loadEncryptedParser, loadFormat } from '../formats/registry.js'
import type { KeyContext } from '../keys/types.js'
import { decryptStoredMac, recoverDataKey } from '../pipeline/decrypt.js'
import { open, type OpenedFile, type SealedFile } from '../pipeline/open.js'

export interface DriverFormat {
  format: Format
  parseEncrypted: (bytes: Uint8Array) => Document
}

export async function loadDriverFormat(name: FormatName): Promise<DriverFormat> {
  const [format, parseEncrypted] = await Promise.all([loadFormat(name), loadEncryptedParser(name)])
  return { format, parseEncrypted }
}

/** A parsed encrypted file with its metadata. */
export type Sealed = SealedFile

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
    decryptStoredMac(new ValueCipher(dataKey), metadata)
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

/**
 * Decrypt `sealed.doc` in place with `dataKey`, remembering IVs in `stash`, and verify the MAC
 * (pipeline/open.ts's open). The handle holds a copy of the key: close it when done.
 */
export function openSealed(sealed: Sealed, dataKey: Uint8Array, stash: IvStash, f: DriverFormat): Promise<OpenedFile> {
  return open(sealed, f.format.name, { dataKey, stash })
}

/** The first line of an error, for a one-line notice (tsops messages never hold a secret). */
export function firstLine(err: unknown): string {
  if (err instanceof TsopsError) return err.message.split('\n')[0]!.replace(/[.:]$/, '')
  return 'unexpected error'
}
