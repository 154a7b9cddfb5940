/**
 * Encrypted document -> plaintext document: one data-key unwrap, every selected leaf decrypted,
 * the MAC verified in constant time (spec Appendix A). Callers open files through open.ts, which
 * owns the data key's lifetime; these are its steps.
 */
import { IvStash, ValueCipher, type DecryptOptions as CipherDecryptOptions } from '../core/cipher.js'
import { MacMismatchError, TsopsError } from '../core/errors.js'
import { macAad, readMetadata, type Metadata } from '../keys/metadata.js'
import { LeafSelector } from '../core/rules.js'
import { decryptBranches, verifyMac } from '../core/walk.js'
import type { Document } from '../formats/format.js'
import type { KeyContext } from '../keys/types.js'
import { unwrapDataKey } from '../keys/datakey.js'

export interface DecryptOptions extends CipherDecryptOptions {
  ctx: KeyContext
  ignoreMac?: boolean
  /** --decryption-order / SOPS_DECRYPTION_ORDER */
  decryptionOrder?: readonly string[]
  /**
   * Remember every value's IV so a re-encryption keeps unchanged ciphertexts (default). Plain
   * decrypts that will never re-encrypt pass false and skip that work.
   */
  keepIvs?: boolean
  /** The IV stash to fill instead of a new one (keepIvs is then ignored). */
  stash?: IvStash
  /** Each comment found in the clear (sops warns about every one). */
  onUnencryptedComment?: (text: string) => void
}

export interface Decrypted {
  doc: Document
  metadata: Metadata
  /** The file's data key (open.ts's handle zeroes it when closed). */
  dataKey: Uint8Array
  /** IVs of every decrypted value, for stable re-encryption. */
  stash: IvStash
}

/** Recover the data key of a parsed encrypted document (one successful unwrap). */
export async function recoverDataKey(doc: Document, options: Pick<DecryptOptions, 'ctx' | 'decryptionOrder'>): Promise<{ metadata: Metadata; dataKey: Uint8Array }> {
  const metadata = readMetadata(doc.metadata)
  const dataKey = await unwrapDataKey(metadata.keyGroups, metadata.shamirThreshold, options.ctx, options.decryptionOrder)
  return { metadata, dataKey }
}

/** Decrypt with a known data key and verify the MAC; strips the metadata from `doc`. */
export function openDocument(doc: Document, metadata: Metadata, dataKey: Uint8Array, options: Omit<DecryptOptions, 'ctx'> = {}): Decrypted {
  const stash = options.stash ?? new IvStash(options.keepIvs ?? true)
  const cipher = new ValueCipher(dataKey, stash)
  const selector = new LeafSelector(metadata.rules)
  const computed = decryptBranches(doc.branches, cipher, selector, options)
  if (!options.ignoreMac) verifyMac(decryptStoredMac(cipher, metadata), computed)
  doc.metadata = undefined
  return { doc, metadata, dataKey, stash }
}

export function decryptStoredMac(cipher: ValueCipher, metadata: Metadata): string {
  try {
    const mac = cipher.decrypt(metadata.mac, macAad(metadata))
    return typeof mac === 'string' ? mac : ''
  } catch (err) {
    throw new MacMismatchError(`Cannot decrypt MAC: ${err instanceof TsopsError ? err.message : 'unexpected error'}`, {
      hint: 'lastmodified or the MAC was changed, or the file is corrupt.',
    })
  }
}
