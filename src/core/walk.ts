/**
 * Encrypting and decrypting a tree, and its MAC (spec §2–§4; sops.go walkBranch/walkSlice,
 * Tree.Encrypt/Decrypt). One pass does both: values are hashed in document order while they
 * are (de)crypted, exactly where sops hashes them.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Comment, TreeMap, TreeSeq, typeName, type MapEntry, type Scalar, type SeqItem, type Value } from './tree.js'
import { type ValueCipher, feedMac, isEncryptedValue, type DecryptOptions, type Plaintext } from './cipher.js'
import { CommentRun, NO_MATCH, type LeafSelector } from './rules.js'
import { DecryptValueError, EncryptTreeError, MacMismatchError, TsopsError } from './errors.js'

/** sha256("sops"): prefixes the MAC input when mac_only_encrypted is set. */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex')

type Leaf = Exclude<Scalar, null> | Comment
/**
 * Returns the replacement for a leaf. `listElement`: the leaf is an element of a list (where
 * sops stores an encrypted comment as an element, §4.1), not a map value or a comment item.
 * `encrypted`: the selector's decision for it (true when the walk has no selector).
 */
type LeafVisitor = (leaf: Leaf, path: readonly string[], stack: readonly CommentRun[], listElement: boolean, encrypted: boolean) => Leaf | string

export function aadFor(path: readonly string[]): string {
  return path.join(':') + ':'
}

/** A list element that is an encrypted comment (how sops stores comments inside lists). */
function isEncryptedCommentElement(item: SeqItem): boolean {
  return typeof item === 'string' && isEncryptedValue(item) && item.endsWith(',type:comment]')
}

/** One container being walked: its items, the next index, and its comment level. */
interface Frame {
  node: TreeMap | TreeSeq
  next: number
  /** The comments seen in this container since its last non-comment item. */
  level: CommentRun
  /** Entered through a map key, which is on `path` until the frame is left. */
  keyed: boolean
  /** The selector's verdict on the keys down to this container (LeafSelector.keyVerdict). */
  keys: number
  /** The verdicts of the comment runs of the enclosing containers, as they stood on entering. */
  inherited: number
  /** The verdict of `level`, kept with it: each comment is tested once, not once per leaf after it. */
  run: number
}

/**
 * The selector's decisions, folded in as the walk goes (a key when it is entered, a comment
 * when it is seen), so a leaf costs O(1) whatever its depth or the comments before it.
 */
class Decisions {
  constructor(private readonly selector: LeafSelector | undefined) {}

  keysWith(frame: Frame, key: string): number {
    return this.selector ? this.selector.keyVerdict(frame.keys, key) : NO_MATCH
  }

  commentVerdict(text: string): number {
    return this.selector ? this.selector.commentVerdict(text) : NO_MATCH
  }

  /** For a value; `keys` includes its own key when it has one. */
  forValue(frame: Frame, keys: number): boolean {
    return this.selector ? this.selector.decide(keys, frame.inherited | frame.run) : true
  }

  /** For a comment already added to its frame's run (`runBefore`: the run's verdict without it). */
  forComment(frame: Frame, runBefore: number): boolean {
    return this.selector ? this.selector.decideComment(frame.keys, frame.inherited | frame.run, frame.inherited | runBefore) : true
  }
}

/**
 * Walk one branch depth-first with an explicit stack, so nesting depth is bounded by memory,
 * not by the JS call stack (a 20,000-level document used to overflow it). `path` (map keys down
 * to the leaf) and `stack` (one comment level per enclosing container) are shared arrays: a
 * visitor may read them during its call but must copy anything it keeps.
 */
function walkTree(root: TreeMap, visit: LeafVisitor, decisions: Decisions): void {
  const path: string[] = []
  const stack: CommentRun[] = []
  const frames: Frame[] = []
  const enter = (node: TreeMap | TreeSeq, key: string | undefined): void => {
    const parent = frames[frames.length - 1]
    const level = new CommentRun()
    const keys = parent === undefined ? NO_MATCH : key === undefined ? parent.keys : decisions.keysWith(parent, key)
    const inherited = parent === undefined ? NO_MATCH : parent.inherited | parent.run
    frames.push({ node, next: 0, level, keyed: key !== undefined, keys, inherited, run: NO_MATCH })
    stack.push(level)
  }
  enter(root, undefined)
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!
    if (frame.next >= frame.node.items.length) {
      frames.pop()
      stack.pop()
      if (frame.keyed) path.pop()
      // A nested container is a non-comment item of its parent: it ends the parent's comment run.
      const parent = frames[frames.length - 1]
      if (parent) endRun(parent)
      continue
    }
    const i = frame.next++
    const item = frame.node.items[i]!
    if (item instanceof Comment) {
      const runBefore = frame.run
      addToRun(frame, item.text, decisions)
      frame.node.items[i] = asComment(visit(item, path, stack, false, decisions.forComment(frame, runBefore)), item.inline)
    } else if (frame.node instanceof TreeMap) {
      visitEntry(item as MapEntry, frame, path, stack, visit, enter, decisions)
    } else {
      visitElement(frame.node, i, frame, path, stack, visit, enter, decisions)
    }
  }
}

type Enter = (node: TreeMap | TreeSeq, key: string | undefined) => void

function addToRun(frame: Frame, text: string, decisions: Decisions): void {
  frame.level.push(text)
  frame.run |= decisions.commentVerdict(text)
}

function endRun(frame: Frame): void {
  frame.level.clear()
  frame.run = NO_MATCH
}

function visitEntry(entry: MapEntry, frame: Frame, path: string[], stack: CommentRun[], visit: LeafVisitor, enter: Enter, decisions: Decisions): void {
  path.push(entry.key)
  const value = entry.value
  if (value instanceof TreeMap || value instanceof TreeSeq) return enter(value, entry.key)
  if (value !== null) entry.value = visit(value, path, stack, false, decisions.forValue(frame, decisions.keysWith(frame, entry.key))) as Value
  path.pop()
  endRun(frame)
}

function visitElement(seq: TreeSeq, i: number, frame: Frame, path: string[], stack: CommentRun[], visit: LeafVisitor, enter: Enter, decisions: Decisions): void {
  const item = seq.items[i] as Value
  if (item instanceof TreeMap || item instanceof TreeSeq) return enter(item, undefined)
  // sops#2281: an encrypted comment stored as a list element still counts as a comment.
  const commentLike = isEncryptedCommentElement(item)
  if (commentLike) addToRun(frame, item as string, decisions)
  if (item !== null) seq.items[i] = visit(item, path, stack, true, decisions.forValue(frame, frame.keys))
  if (!commentLike) endRun(frame)
}

function asComment(result: Leaf | string, inline: boolean): Comment {
  if (result instanceof Comment) return result
  return new Comment(String(result), inline)
}

function walkBranches(branches: TreeMap[], visit: LeafVisitor, selector?: LeafSelector): void {
  const decisions = new Decisions(selector)
  for (const branch of branches) walkTree(branch, visit, decisions)
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
  walkBranches(branches, (leaf, path, _stack, _listElement, encrypted) => {
    const isComment = leaf instanceof Comment
    if (!isComment && (!selector.macOnlyEncrypted || encrypted)) feedMac(hash, leaf)
    if (!encrypted) return leaf
    const ciphertext = cipher.encrypt(leaf, aadFor(path))
    if (isComment && selector.matchesUnencryptedComment(ciphertext)) {
      throw new EncryptTreeError('Encrypted comment matches UnencryptedCommentRegex!')
    }
    return isComment ? new Comment(ciphertext, leaf.inline) : ciphertext
  }, selector)
  return hash.digest('hex').toUpperCase()
}

export interface DecryptWalkOptions extends DecryptOptions {
  /** Called with the text of each comment that is not encrypted (files of sops before 3.x). */
  onUnencryptedComment?: (text: string) => void
}

/** sops's warning for a comment left in the clear (sops.go). */
export const UNENCRYPTED_COMMENT_WARNING = 'Found possibly unencrypted comment in file. This is to be expected if the file being decrypted was created with an older version of SOPS.'

/**
 * Decrypt every selected leaf in place and return the MAC computed over the result.
 * A value that fails is an error (exit 25); a comment that fails is kept as is, because sops
 * before 3.x did not encrypt comments.
 */
export function decryptBranches(branches: TreeMap[], cipher: ValueCipher, selector: LeafSelector, options: DecryptWalkOptions = {}): string {
  const hash = newMacHash(selector)
  walkBranches(branches, (leaf, path, _stack, listElement, encrypted) => {
    const isComment = leaf instanceof Comment
    const aad = aadFor(path)
    if (isComment) {
      if (!encrypted) return leaf
      try {
        return cipher.decrypt(leaf.text, aad) as Comment
      } catch {
        options.onUnencryptedComment?.(leaf.text)
        return leaf
      }
    }
    let value: Plaintext = leaf
    if (encrypted) value = decryptLeaf(leaf, aad, path, cipher, options)
    if (value instanceof Comment) {
      // A list element that decrypts to a comment is how sops stores a comment inside a list;
      // the encrypt side never hashed it (§4.1).
      if (listElement) return value
      // Anywhere else it is a comment's ciphertext copied into a value: a comment's AAD is its
      // container's path, so the top-level `#ENC[…]` also opens as `"": ENC[…]`. sops 3.13.2
      // hashes such a value (its text), which the encrypt side never did: the MAC fails. With
      // the MAC ignored it is the string it holds, never a comment in a value's place.
      value = value.text
    }
    if (!selector.macOnlyEncrypted || encrypted) feedMac(hash, value)
    return value
  }, selector)
  return hash.digest('hex').toUpperCase()
}

function decryptLeaf(leaf: Leaf, aad: string, path: readonly string[], cipher: ValueCipher, options: DecryptOptions): Plaintext {
  // sops's words; where the value is goes to the hint, which only `tsops` prints.
  const where = path.length ? `The value at ${path.join('.')} ` : 'The value '
  if (typeof leaf !== 'string') {
    throw new DecryptValueError(`Error decrypting tree: Error walking tree: Expected encrypted value as string, but got ${typeName(leaf)}`, {
      hint: `${where}is not encrypted: it was added or changed by hand.`,
    })
  }
  try {
    return cipher.decrypt(leaf, aad, options)
  } catch (err) {
    const reason = err instanceof TsopsError ? err.message : 'unexpected error'
    throw new DecryptValueError(`Error decrypting tree: Error walking tree: Could not decrypt value: ${reason}`, {
      hint: `${where}was changed by hand or the file was tampered with.`,
    })
  }
}

/** The MAC of a plaintext tree, without encrypting anything. */
export function computeMac(branches: TreeMap[], selector: LeafSelector): string {
  const hash = newMacHash(selector)
  walkBranches(
    branches,
    (leaf, _path, _stack, _listElement, encrypted) => {
      if (leaf instanceof Comment) return leaf
      if (!selector.macOnlyEncrypted || encrypted) feedMac(hash, leaf)
      return leaf
    },
    selector,
  )
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

/**
 * Visits every leaf without changing it: for keyless checks. `path`/`stack` are only valid during
 * the call; `encrypted` is `selector`'s decision for the leaf (true without a selector).
 */
export function visitLeaves(
  branches: TreeMap[],
  visit: (leaf: Leaf, path: readonly string[], stack: readonly CommentRun[], encrypted: boolean) => void,
  selector?: LeafSelector,
): void {
  walkBranches(
    branches,
    (leaf, path, stack, _listElement, encrypted) => {
      visit(leaf, path, stack, encrypted)
      return leaf
    },
    selector,
  )
}
