/**
 * `publish` (sops cmd/sops/subcommand/publish): what a destination rule makes of one encrypted
 * file — where it goes, under which name, and what is uploaded.
 *
 * - S3 / GCS get the encrypted file: as it is on disk when the rule's recreation_rule has no
 *   keys, else re-encrypted under a new data key for those keys (the values are decrypted, MAC
 *   checked, and encrypted again; the metadata gets the rule's keys, threshold and suffix).
 * - Vault KV gets the decrypted values (vault.ts).
 */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { DATA_KEY_SIZE } from '../core/cipher.js'
import type { EncryptionRules } from '../core/rules.js'
import { SOPS_FORMAT_VERSION } from '../core/metadata.js'
import type { CreationRule, DestinationRule } from '../config/index.js'
import type { Document, Format } from '../formats/format.js'
import { diffKeyGroups, keysWillChange, planFromGroups, refsOf, type GroupDiff } from '../keygroups/index.js'
import { wrapDataKey } from '../keys/datakey.js'
import type { KeyContext, KeySource } from '../keys/types.js'
import { sealDocument } from '../pipeline/encrypt.js'
import { open, sealedDocument, withDataKey } from '../pipeline/open.js'
import { gcsDestination } from './gcs.js'
import { s3Destination } from './s3.js'
import type { Destination, PublishEnv } from './types.js'
import { vaultDestination } from './vault.js'

export type { Destination, FileDestination, PublishEnv, PublishIo, ValuesDestination } from './types.js'

/** The rule's one destination, or undefined when it names none (sops: "no destination configured for this file"). */
export function destinationFor(rule: DestinationRule, env: PublishEnv): Destination | undefined {
  if (rule.s3Bucket) return s3Destination(rule.s3Bucket, rule.s3Prefix ?? '')
  if (rule.gcsBucket) return gcsDestination(rule.gcsBucket, rule.gcsPrefix ?? '')
  if (rule.vaultPath) {
    return vaultDestination({ vaultPath: rule.vaultPath, vaultAddress: rule.vaultAddress, vaultKvMountName: rule.vaultKvMountName, vaultKvVersion: rule.vaultKvVersion }, env)
  }
  return undefined
}

export interface NameOptions {
  /** --recursive: the name is the path relative to the directory given (else the file's base name). */
  root?: string
  /** --omit-extensions or the rule's omit_extensions. */
  omitExtensions: boolean
}

/** The object name under the destination's prefix, as sops computes it. */
export function destinationName(file: string, cwd: string, options: NameOptions): string {
  const absolute = path.resolve(cwd, file)
  // filepath.Rel of the file to itself (publish -r FILE) is ".".
  let name = options.root === undefined ? path.basename(absolute) : path.relative(path.resolve(cwd, options.root), absolute) || '.'
  name = name.split(path.sep).join('/')
  const ext = goExt(absolute)
  return options.omitExtensions && name.endsWith(ext) ? name.slice(0, name.length - ext.length) : name
}

/** Go's filepath.Ext: from the last dot of the last element (`.env` is all extension), else ''. */
export function goExt(p: string): string {
  const dot = p.lastIndexOf('.')
  return dot > p.lastIndexOf('/') ? p.slice(dot) : ''
}

/** sops re-encrypts only when the recreation rule's first key group has keys. */
export function reencrypts(rule: DestinationRule): boolean {
  return (rule.recreationRule.keyGroups[0]?.length ?? 0) > 0
}

export interface OpenOptions {
  ctx: KeyContext
  decryptionOrder?: readonly string[]
}

/** Decrypt `doc` in place (MAC checked); its data key is zeroed. Returns the file's metadata and IVs. */
async function decryptInPlace(format: Format, doc: Document, options: OpenOptions) {
  const opened = await open(sealedDocument(doc), format.name, { ctx: options.ctx, decryptionOrder: options.decryptionOrder })
  opened.close()
  return opened
}

/** The decrypted documents, for a Vault destination. */
export async function decryptedBranches(format: Format, doc: Document, options: OpenOptions): Promise<Document['branches']> {
  await decryptInPlace(format, doc, options)
  return doc.branches
}

export interface Reencryption {
  /** The key-group changes (sops prints them when a key is added or removed). */
  diffs: GroupDiff[]
  keysChange: boolean
  /** Seal the decrypted document with the new keys; call after showing the diffs. */
  seal: () => Promise<Document>
}

/**
 * Re-encrypt `doc` (in place) for the recreation rule `rule` whose keys are `keys`. As sops: a
 * new data key; the metadata holds the rule's groups, threshold and suffixes only (its regexes
 * are not carried over) and this version; values keep their IVs (a new key, so new ciphertexts).
 */
export async function reencryptForRule(format: Format, doc: Document, rule: CreationRule, keys: KeySource[][], options: OpenOptions): Promise<Reencryption> {
  const decrypted = await decryptInPlace(format, doc, options)
  const diffs = diffKeyGroups(refsOf(planFromGroups(decrypted.metadata.keyGroups)), keys.map((g) => g.map((s) => ({ type: s.type, id: s.id }))))
  const rules: EncryptionRules = {}
  if (rule.rules.unencryptedSuffix) rules.unencryptedSuffix = rule.rules.unencryptedSuffix
  if (rule.rules.encryptedSuffix) rules.encryptedSuffix = rule.rules.encryptedSuffix
  const seal = () =>
    withDataKey(randomBytes(DATA_KEY_SIZE), async (dataKey) => {
      const wrapped = await wrapDataKey(dataKey, keys, rule.shamirThreshold, options.ctx)
      return sealDocument(format, doc, dataKey, {
        keyGroups: wrapped.groups,
        shamirThreshold: wrapped.threshold,
        rules,
        stash: decrypted.stash,
        version: SOPS_FORMAT_VERSION,
      })
    })
  return { diffs, keysChange: keysWillChange(diffs), seal }
}
