/**
 * Encrypting and decrypting a tree, and its MAC (spec §2–§4; sops.go walkBranch/walkSlice,
 * Tree.Encrypt/Decrypt). One pass does both: values are hashed in document order while they
 * are (de)crypted, exactly where sops hashes them.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Comment, TreeMap, TreeSeq, typeName, type Scalar, type SeqItem, type Value } from './tree.js'
import { ValueCipher, isEncryptedValue, macBytes, type DecryptOptions, type Plaintext } from './cipher.js'
import type { LeafSelector } from './rules.js'
import { DecryptValueError, EncryptTreeError, FormatError, MacMismatchError, TsopsError } from './errors.js'

/** sha256("sops"): prefixes the MAC input when mac_only_encrypted is set. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex')

type Leaf = Exclude<Scalar, null> | Comment
/** Returns the replacement for a leaf. */
type LeafVisitor = (leaf: Leaf, path: readonly string[], stack: readonly string[][]) => Leaf | string

export function aadFor(path: readonly string[]): string {
  return path.join(':') + ':'
}

/** A list element that is an encrypted comment (how sops stores comments inside lists). */
function isEncryptedCommentElement(item: SeqItem): boolean {
  return typeof item === 'string' && isEncryptedValue(item) && item.endsWith(',type:comment]')
}

function walkValue(value: Value, path: string[], stack: string[][], visit: LeafVisitor): Value | Comment {
  if (value === null) return null
  if (value instanceof TreeMap) return walkMap(value, path, stack, visit)
  if (value instanceof TreeSeq) return walkSeq(value, path, stack, visit)
  return visit(value, path, stack)
}

function walkMap(map: TreeMap, path: string[], stack: string[][], visit: LeafVisitor): TreeMap {
  const level: string[] = []
  const inner = [...stack, level]
  for (let i = 0; i < map.items.length; i++) {
    const item = map.items[i]!
    if (item instanceof Comment) {
      level.push(item.text)
      map.items[i] = asComment(visit(item, path, inner), item.inline)
      continue
    }
    item.value = walkValue(item.value, [...path, item.key], inner, visit) as Value
    level.length = 0
  }
  return map
}

function walkSeq(seq: TreeSeq, path: string[], stack: string[][], visit: LeafVisitor): TreeSeq {
  const level: string[] = []
  const inner = [...stack, level]
  for (let i = 0; i < seq.items.length; i++) {
    const item = seq.items[i]!
    if (item instanceof Comment) {
      level.push(item.text)
      seq.items[i] = asComment(visit(item, path, inner), item.inline)
      continue
    }
    // sops#2281: an encrypted comment stored as a list element still counts as a comment.
    const commentLike = isEncryptedCommentElement(item)
    if (commentLike) level.push(item as string)
    seq.items[i] = walkValue(item, path, inner, visit)
    if (!commentLike) level.length = 0
  }
  return seq
}

function asComment(result: Leaf | string, inline: boolean): Comment {
  if (result instanceof Comment) return result
  return new Comment(String(result), inline)
}

/** Runs a walk over every branch, turning a too-deep document into a clean error. */
function walkBranches(branches: TreeMap[], visit: LeafVisitor): void {
  try {
    for (const branch of branches) walkMap(branch, [], [], visit)
  } catch (err) {
    if (err instanceof RangeError) throw new FormatError('document is nested too deeply')
    throw err
  }
}

function newMacHash(selector: LeafSelector) {
  const hash = createHash('sha512')
  if (selector.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT)
  return hash
}

/**
 * Encrypt every selected leaf in place and return the MAC (128 uppercase hex) of the plaintext.
 */
export function encryptBranches(branches: TreeMap[], cipher: ValueCipher, selector: LeafSelector): string {
  const hash = newMacHash(selector)
  walkBranches(branches, (leaf, path, stack) => {
    const isComment = leaf instanceof Comment
    const encrypted = selector.shouldEncrypt(path, stack, isComment)
    if (!isComment && (!selector.macOnlyEncrypted || encrypted)) hash.update(macBytes(leaf))
    if (!encrypted) return leaf
    const ciphertext = cipher.encrypt(leaf, aadFor(path))
    if (isComment && selector.matchesUnencryptedComment(ciphertext)) {
      throw new EncryptTreeError('Encrypted comment matches UnencryptedCommentRegex!')
    }
    return isComment ? new Comment(ciphertext, leaf.inline) : ciphertext
  })
  return hash.digest('hex').toUpperCase()
}

export interface DecryptWalkOptions extends DecryptOptions {
  warn?: (message: string) => void
}

/**
 * Decrypt every selected leaf in place and return the MAC computed over the result.
 * A value that fails is an error (exit 25); a comment that fails is kept as is, because sops
 * before 3.x did not encrypt comments.
 */
export function decryptBranches(branches: TreeMap[], cipher: ValueCipher, selector: LeafSelector, options: DecryptWalkOptions = {}): string {
  const hash = newMacHash(selector)
  let warnedComment = false
  walkBranches(branches, (leaf, path, stack) => {
    const isComment = leaf instanceof Comment
    const encrypted = selector.shouldEncrypt(path, stack, isComment)
    const aad = aadFor(path)
    if (isComment) {
      if (!encrypted) return leaf
      try {
        return cipher.decrypt(leaf.text, aad) as Comment
      } catch {
        if (!warnedComment) options.warn?.('Found possibly unencrypted comment in file. This is to be expected if the file being decrypted was created with an older version of SOPS.')
        warnedComment = true
        return leaf
      }
    }
    let value: Plaintext = leaf
    if (encrypted) value = decryptLeaf(leaf, aad, path, cipher, options)
    // A list element that decrypts to a comment was never hashed by the encrypt side (§4.1).
    if (value instanceof Comment) return value
    if (!selector.macOnlyEncrypted || encrypted) hash.update(macBytes(value))
    return value
  })
  return hash.digest('hex').toUpperCase()
}

function decryptLeaf(leaf: Leaf, aad: string, path: readonly string[], cipher: ValueCipher, options: DecryptOptions): Plaintext {
  const where = path.length ? ` at ${path.join('.')}` : ''
  if (typeof leaf !== 'string') {
    throw new DecryptValueError(`Error walking tree: Could not decrypt value${where}: Expected encrypted value as string, but got ${typeName(leaf)}`)
  }
  try {
    return cipher.decrypt(leaf, aad, options)
  } catch (err) {
    const reason = err instanceof TsopsError ? err.message : 'unexpected error'
    throw new DecryptValueError(`Error walking tree: Could not decrypt value${where}: ${reason}`, {
      hint: 'The value was changed by hand or the file was tampered with.',
    })
  }
}

/** The MAC of a plaintext tree, without encrypting anything. */
export function computeMac(branches: TreeMap[], selector: LeafSelector): string {
  const hash = newMacHash(selector)
  walkBranches(branches, (leaf, path, stack) => {
    if (leaf instanceof Comment) return leaf
    const encrypted = selector.shouldEncrypt(path, stack, false)
    if (!selector.macOnlyEncrypted || encrypted) hash.update(macBytes(leaf))
    return leaf
  })
  return hash.digest('hex').toUpperCase()
}

/** Constant-time comparison of the stored and computed MAC (both uppercase hex). */
export function verifyMac(stored: string, computed: string): void {
  const a = Buffer.from(stored, 'utf8')
  const b = Buffer.from(computed, 'utf8')
  const equal = a.length === b.length && timingSafeEqual(a, b)
  if (!equal) {
    throw new MacMismatchError(`MAC mismatch. File has ${stored === '' ? 'no MAC' : stored}, computed ${computed}`, {
      hint: 'The file was modified outside sops/tsops or is corrupt. Use --ignore-mac only if you trust its contents.',
    })
  }
}

/** Visits every leaf without changing it: for keyless checks. */
export function visitLeaves(
  branches: TreeMap[],
  visit: (leaf: Leaf, path: readonly string[], stack: readonly string[][]) => void,
): void {
  walkBranches(branches, (leaf, path, stack) => {
    visit(leaf, path, stack)
    return leaf
  })
}
