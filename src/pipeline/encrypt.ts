/**
 * Plaintext document -> encrypted document: one fresh data key (or the file's existing one when
 * re-encrypting an edit), wrapped by every master key, every selected leaf encrypted, MAC and
 * metadata attached (spec Appendix B).
 */
import { randomBytes } from 'node:crypto'
import { type IvStash, ValueCipher, DATA_KEY_SIZE } from '../core/cipher.js'
import { AlreadyEncryptedError, EmptyDocumentError, EncryptMacError, TsopsError } from '../core/errors.js'
import { metadataTree, SOPS_FORMAT_VERSION, type Metadata } from '../keys/metadata.js'
import { LeafSelector, withDefaultRule, type EncryptionRules } from '../core/rules.js'
import { nowRFC3339 } from '../core/gofmt.js'
import { encryptBranches } from '../core/walk.js'
import type { Document, Format } from '../formats/format.js'
import type { KeyContext, KeyEntry, KeySource } from '../keys/types.js'
import { wrapDataKey } from '../keys/datakey.js'
import { withDataKey } from './open.js'

export interface EncryptOptions {
  /** Master keys, one inner list per key group. */
  keyGroups: KeySource[][]
  shamirThreshold?: number
  rules?: EncryptionRules
  ctx: KeyContext
  now?: Date
}

/** Encrypt a freshly parsed plaintext document in place (a new data key). */
export async function encryptDocument(format: Format, doc: Document, options: EncryptOptions): Promise<Document> {
  assertEncryptable(format, doc)
  return withDataKey(randomBytes(DATA_KEY_SIZE), async (dataKey) => {
    const wrapped = await wrapDataKey(dataKey, options.keyGroups, options.shamirThreshold ?? 0, options.ctx)
    return sealDocument(format, doc, dataKey, {
      keyGroups: wrapped.groups,
      shamirThreshold: wrapped.threshold,
      rules: effectiveRules(format, options.rules ?? {}),
      now: options.now,
    })
  })
}

export function assertEncryptable(format: Format, doc: Document): void {
  if (format.hasMetadataKey(doc)) throw new AlreadyEncryptedError()
  if (doc.branches.length === 0) throw new EmptyDocumentError()
}

/** The binary store writes no rule at all (sops forces them empty); other stores default the suffix. */
export function effectiveRules(format: Format, rules: EncryptionRules): EncryptionRules {
  return format.capabilities.encryptionRules ? withDefaultRule(rules) : {}
}

export interface SealOptions {
  keyGroups: KeyEntry[][]
  shamirThreshold: number
  rules: EncryptionRules
  now?: Date | undefined
  /** IVs of values decrypted earlier under the same key: unchanged values keep their ciphertext. */
  stash?: IvStash
  version?: string
}

/**
 * Encrypt every selected leaf with an already wrapped data key, then attach a new
 * `lastmodified`, MAC and the metadata. Used for new files and for re-encrypting edits.
 */
export function sealDocument(format: Format, doc: Document, dataKey: Uint8Array, options: SealOptions): Document {
  const cipher = new ValueCipher(dataKey, options.stash)
  const selector = new LeafSelector(options.rules)
  const mac = encryptBranches(doc.branches, cipher, selector)
  doc.metadata = metadataTree(sealMetadata(cipher, mac, options))
  void format
  return doc
}

/** The metadata of a document whose values are encrypted and whose plaintext MAC is `mac`: a new `lastmodified`, the MAC encrypted under it. */
export function sealMetadata(cipher: ValueCipher, mac: string, options: SealOptions): Metadata {
  const lastModified = nowRFC3339(options.now)
  let encryptedMac: string
  try {
    encryptedMac = cipher.encrypt(mac, lastModified)
  } catch (err) {
    throw new EncryptMacError(`Could not encrypt MAC: ${err instanceof TsopsError ? err.message : 'unexpected error'}`)
  }
  return {
    keyGroups: options.keyGroups,
    shamirThreshold: options.shamirThreshold,
    lastModified,
    mac: encryptedMac,
    rules: options.rules,
    version: options.version ?? SOPS_FORMAT_VERSION,
  }
}
