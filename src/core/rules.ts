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

export const ONE_RULE_ONLY = 'cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex'

export function assertSingleRule(rules: EncryptionRules): void {
  if (countRules(rules) > 1) throw new ConflictingParametersError(`Error: ${ONE_RULE_ONLY} in the same file`)
}

/** The rules as a file is written with them: the default suffix when none is chosen. */
export function withDefaultRule(rules: EncryptionRules): EncryptionRules {
  return countRules(rules) === 0 ? { ...rules, unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX } : rules
}

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
   * @param path map keys from the root down to the leaf
   * @param commentsStack per container level, the comments seen since the last non-comment item
   *   (including the leaf itself when it is a comment)
   */
  shouldEncrypt(path: readonly string[], commentsStack: readonly (readonly string[])[], isComment: boolean): boolean {
    const effective = this.effective
    let encrypted = true
    if (effective.unencryptedSuffix && path.some((k) => k.endsWith(effective.unencryptedSuffix!))) encrypted = false
    if (effective.encryptedSuffix) encrypted = path.some((k) => k.endsWith(effective.encryptedSuffix!))
    if (this.unencryptedRegex && path.some((k) => this.unencryptedRegex!.test(k))) encrypted = false
    if (this.encryptedRegex) encrypted = path.some((k) => this.encryptedRegex!.test(k))
    if (this.unencryptedCommentRegex && commentsStack.some((level) => level.some((c) => this.unencryptedCommentRegex!.test(c)))) encrypted = false
    if (this.encryptedCommentRegex) encrypted = this.matchesEncryptedComment(commentsStack, isComment)
    return encrypted
  }

  /** A marker comment does not encrypt itself: skip the innermost level's last comment for comments. */
  private matchesEncryptedComment(stack: readonly (readonly string[])[], isComment: boolean): boolean {
    return stack.some((level, i) => {
      const last = i === stack.length - 1
      const comments = isComment && last ? level.slice(0, -1) : level
      return comments.some((c) => this.encryptedCommentRegex!.test(c))
    })
  }

  /** Only for encrypt: an encrypted comment must not look like an unencrypted marker. */
  matchesUnencryptedComment(text: string): boolean {
    return this.unencryptedCommentRegex?.test(text) ?? false
  }
}
