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

/**
 * The comments seen in one container since its last non-comment item (the walker pushes and
 * clears them), with the comment-rule verdicts on them so far. Each comment is tested against
 * the rule regexes once, when it is first looked at — not once per later leaf — so a file of
 * many comments costs time linear in its size whatever regex its metadata carries.
 */
export class CommentRun {
  readonly texts: string[] = []
  /** The selector the verdicts below were computed for, and how many texts they cover. */
  owner: LeafSelector | undefined
  tested = 0
  /** Some comment matches unencrypted_comment_regex. */
  unencrypted = false
  /** Some comment before the last one matches encrypted_comment_regex; the last one does. */
  encryptedBeforeLast = false
  lastEncrypted = false

  push(text: string): void {
    this.texts.push(text)
  }

  clear(): void {
    this.texts.length = 0
    this.tested = 0
    this.unencrypted = this.encryptedBeforeLast = this.lastEncrypted = false
  }
}

/** Regex verdicts per distinct string: a key on the path of many leaves is tested once. */
class MemoRe2 {
  private readonly verdicts = new Map<string, boolean>()
  constructor(private readonly re: Re2) {}
  test(s: string): boolean {
    let v = this.verdicts.get(s)
    if (v === undefined) {
      v = this.re.test(s)
      this.verdicts.set(s, v)
    }
    return v
  }
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
  private readonly unencryptedRegex?: MemoRe2
  private readonly encryptedRegex?: MemoRe2
  private readonly unencryptedCommentRegex?: Re2
  private readonly encryptedCommentRegex?: Re2

  /** The rules in force: with none set, the default unencrypted suffix (computed once, not per leaf). */
  private readonly effective: EncryptionRules

  constructor(readonly rules: EncryptionRules) {
    assertSingleRule(rules)
    this.effective = countRules(rules) === 0 ? { unencryptedSuffix: DEFAULT_UNENCRYPTED_SUFFIX } : rules
    if (rules.unencryptedRegex) this.unencryptedRegex = new MemoRe2(compileRe2(rules.unencryptedRegex, 'unencrypted_regex'))
    if (rules.encryptedRegex) this.encryptedRegex = new MemoRe2(compileRe2(rules.encryptedRegex, 'encrypted_regex'))
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
  shouldEncrypt(path: readonly string[], commentsStack: readonly CommentRun[], isComment: boolean): boolean {
    const effective = this.effective
    let encrypted = true
    if (effective.unencryptedSuffix && path.some((k) => k.endsWith(effective.unencryptedSuffix!))) encrypted = false
    if (effective.encryptedSuffix) encrypted = path.some((k) => k.endsWith(effective.encryptedSuffix!))
    if (this.unencryptedRegex && path.some((k) => this.unencryptedRegex!.test(k))) encrypted = false
    if (this.encryptedRegex) encrypted = path.some((k) => this.encryptedRegex!.test(k))
    if (this.unencryptedCommentRegex && commentsStack.some((run) => this.verdicts(run).unencrypted)) encrypted = false
    if (this.encryptedCommentRegex) encrypted = this.matchesEncryptedComment(commentsStack, isComment)
    return encrypted
  }

  /** Bring a run's verdicts up to date: only the comments added since the last call are tested. */
  private verdicts(run: CommentRun): CommentRun {
    if (run.owner !== this) {
      run.owner = this
      run.tested = 0
      run.unencrypted = run.encryptedBeforeLast = run.lastEncrypted = false
    }
    for (; run.tested < run.texts.length; run.tested++) {
      const text = run.texts[run.tested]!
      if (this.unencryptedCommentRegex && !run.unencrypted) run.unencrypted = this.unencryptedCommentRegex.test(text)
      if (this.encryptedCommentRegex) {
        run.encryptedBeforeLast ||= run.lastEncrypted
        run.lastEncrypted = this.encryptedCommentRegex.test(text)
      }
    }
    return run
  }

  /** A marker comment does not encrypt itself: skip the innermost level's last comment for comments. */
  private matchesEncryptedComment(stack: readonly CommentRun[], isComment: boolean): boolean {
    return stack.some((run, i) => {
      const v = this.verdicts(run)
      const last = i === stack.length - 1
      return v.encryptedBeforeLast || (v.lastEncrypted && !(isComment && last))
    })
  }

  /**
   * The walk's way to the same decision (walk.ts): the verdicts are folded in one key and one
   * comment at a time as it descends, so a leaf costs O(1) whatever its depth — shouldEncrypt
   * looks at the whole path for every leaf.
   * `verdict` (of the keys above) with `key` folded in: which key rules some key on the path matches.
   */
  keyVerdict(verdict: number, key: string): number {
    const rules = this.effective
    let v = verdict
    if (rules.unencryptedSuffix && key.endsWith(rules.unencryptedSuffix)) v |= UNENCRYPTED_SUFFIX
    if (rules.encryptedSuffix && key.endsWith(rules.encryptedSuffix)) v |= ENCRYPTED_SUFFIX
    if (this.unencryptedRegex && !(v & UNENCRYPTED_REGEX) && this.unencryptedRegex.test(key)) v |= UNENCRYPTED_REGEX
    if (this.encryptedRegex && !(v & ENCRYPTED_REGEX) && this.encryptedRegex.test(key)) v |= ENCRYPTED_REGEX
    return v
  }

  /** Which comment rules one comment's text matches (the walk tests each comment once). */
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
