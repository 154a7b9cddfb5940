/**
 * Which leaves get encrypted (spec §3, sops.go:Tree.shouldBeEncrypted).
 * At most one rule may be set; with none, `unencrypted_suffix: _unencrypted` applies.
 */
import { ConflictingParametersError } from './errors.js'
import { compileRe2, type Re2 } from './regex.js'

export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted'

export interface EncryptionRules {
  unencryptedSuffix?: string
  encryptedSuffix?: string
  unencryptedRegex?: string
  encryptedRegex?: string
  unencryptedCommentRegex?: string
  encryptedCommentRegex?: string
  macOnlyEncrypted?: boolean
}

/** The six exclusive rule names with their metadata / .sops.yaml spelling. */
export const RULE_FIELDS = [
  ['unencryptedSuffix', 'unencrypted_suffix'],
  ['encryptedSuffix', 'encrypted_suffix'],
  ['unencryptedRegex', 'unencrypted_regex'],
  ['encryptedRegex', 'encrypted_regex'],
  ['unencryptedCommentRegex', 'unencrypted_comment_regex'],
  ['encryptedCommentRegex', 'encrypted_comment_regex'],
] as const

export type RuleName = (typeof RULE_FIELDS)[number][0]

export function countRules(rules: EncryptionRules): number {
  return RULE_FIELDS.filter(([name]) => rules[name]).length
}

export function assertSingleRule(rules: EncryptionRules): void {
  if (countRules(rules) > 1) {
    throw new ConflictingParametersError(
      'cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex in the same file',
    )
  }
}

/** The rules as a file is written with them: the default suffix when none is chosen. */
export function withDefaultRule(rules: EncryptionRules): EncryptionRules {
  return countRules(rules) === 0 ? { ...rules, unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX } : rules
}

/** Verdict bits: which rule some key on a path, or some comment in a run, matches. */
export const NO_MATCH = 0
const UNENCRYPTED_SUFFIX = 1
const ENCRYPTED_SUFFIX = 2
const UNENCRYPTED_REGEX = 4
const ENCRYPTED_REGEX = 8
const UNENCRYPTED_COMMENT = 16
const ENCRYPTED_COMMENT = 32

/** The compiled decision function for one file. */
export class LeafSelector {
  private readonly unencryptedRegex?: Re2
  private readonly encryptedRegex?: Re2
  private readonly unencryptedCommentRegex?: Re2
  private readonly encryptedCommentRegex?: Re2

  /** The rules in force: with none set, the default unencrypted suffix (computed once, not per leaf). */
  private readonly effective: EncryptionRules

  constructor(readonly rules: EncryptionRules) {
    assertSingleRule(rules)
    this.effective = countRules(rules) === 0 ? { unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX } : rules
    if (rules.unencryptedRegex) this.unencryptedRegex = compileRe2(rules.unencryptedRegex, 'unencrypted_regex')
    if (rules.encryptedRegex) this.encryptedRegex = compileRe2(rules.encryptedRegex, 'encrypted_regex')
    if (rules.unencryptedCommentRegex) this.unencryptedCommentRegex = compileRe2(rules.unencryptedCommentRegex, 'unencrypted_comment_regex')
    if (rules.encryptedCommentRegex) this.encryptedCommentRegex = compileRe2(rules.encryptedCommentRegex, 'encrypted_comment_regex')
  }

  get macOnlyEncrypted(): boolean {
    return this.rules.macOnlyEncrypted === true
  }

  /**
   * The verdict of the keys `path` and the comment runs `commentsStack` (per container level, the
   * comments seen since its last non-comment item, the leaf itself included when it is a
   * comment). A walk folds the same verdicts in one key and one comment at a time instead
   * (keyVerdict, commentVerdict, decide): calling this per leaf re-tests every key above it.
   */
  shouldEncrypt(path: readonly string[], commentsStack: readonly (readonly string[])[], isComment: boolean): boolean {
    let keys = NO_MATCH
    for (const key of path) keys = this.keyVerdict(keys, key)
    let before = NO_MATCH
    let all = NO_MATCH
    commentsStack.forEach((level, i) => {
      level.forEach((comment, j) => {
        const verdict = this.commentVerdict(comment)
        all |= verdict
        // A marker comment does not encrypt itself: the innermost level's last comment, for comments.
        if (!(isComment && i === commentsStack.length - 1 && j === level.length - 1)) before |= verdict
      })
    })
    return isComment ? this.decideComment(keys, all, before) : this.decide(keys, all)
  }

  /** `verdict` (of the keys above) with `key` folded in: which key rules some key on the path matches. */
  keyVerdict(verdict: number, key: string): number {
    const rules = this.effective
    let v = verdict
    if (rules.unencryptedSuffix && key.endsWith(rules.unencryptedSuffix)) v |= UNENCRYPTED_SUFFIX
    if (rules.encryptedSuffix && key.endsWith(rules.encryptedSuffix)) v |= ENCRYPTED_SUFFIX
    if (this.unencryptedRegex && !(v & UNENCRYPTED_REGEX) && this.unencryptedRegex.test(key)) v |= UNENCRYPTED_REGEX
    if (this.encryptedRegex && !(v & ENCRYPTED_REGEX) && this.encryptedRegex.test(key)) v |= ENCRYPTED_REGEX
    return v
  }

  /** Which comment rules one comment's text matches (each comment is tested once per walk). */
  commentVerdict(text: string): number {
    let v = NO_MATCH
    if (this.unencryptedCommentRegex?.test(text)) v |= UNENCRYPTED_COMMENT
    if (this.encryptedCommentRegex?.test(text)) v |= ENCRYPTED_COMMENT
    return v
  }

  /**
   * For a comment: `withItself` is the verdict of the comment runs including this comment,
   * `before` without it (a marker comment does not encrypt itself, but an unencrypted marker
   * leaves itself in clear).
   */
  decideComment(keys: number, withItself: number, before: number): boolean {
    return this.decide(keys, (withItself & UNENCRYPTED_COMMENT) | (before & ENCRYPTED_COMMENT))
  }

  /** Encrypt a leaf under keys and comments with these verdicts? (sops's rule order: the last set rule wins.) */
  decide(keys: number, comments: number): boolean {
    const rules = this.effective
    let encrypted = true
    if (rules.unencryptedSuffix && keys & UNENCRYPTED_SUFFIX) encrypted = false
    if (rules.encryptedSuffix) encrypted = (keys & ENCRYPTED_SUFFIX) !== 0
    if (this.unencryptedRegex && keys & UNENCRYPTED_REGEX) encrypted = false
    if (this.encryptedRegex) encrypted = (keys & ENCRYPTED_REGEX) !== 0
    if (this.unencryptedCommentRegex && comments & UNENCRYPTED_COMMENT) encrypted = false
    if (this.encryptedCommentRegex) encrypted = (comments & ENCRYPTED_COMMENT) !== 0
    return encrypted
  }

  /** Only for encrypt: an encrypted comment must not look like an unencrypted marker. */
  matchesUnencryptedComment(text: string): boolean {
    return this.unencryptedCommentRegex?.test(text) ?? false
  }
}
