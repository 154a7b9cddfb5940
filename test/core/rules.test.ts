/**
 * The comment rules decide as the plain definition does (sops.go shouldBeEncrypted: any comment
 * of any enclosing level since its last value matches), while testing each comment once.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Comment, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { LeafSelector, type EncryptionRules } from '../../src/core/rules.js'
import { visitLeaves } from '../../src/core/walk.js'
import { compileRe2 } from '../../src/core/regex.js'

/** The definition, re-testing every comment of the stack for every leaf. */
function naive(rules: EncryptionRules, stack: readonly (readonly string[])[], isComment: boolean): boolean {
  if (rules.unencryptedCommentRegex) {
    const re = compileRe2(rules.unencryptedCommentRegex, 'x')
    return !stack.some((level) => level.some((c) => re.test(c)))
  }
  const re = compileRe2(rules.encryptedCommentRegex!, 'x')
  return stack.some((level, i) => (isComment && i === stack.length - 1 ? level.slice(0, -1) : level).some((c) => re.test(c)))
}

type Item = { comment: string } | { key: string; value: string } | { key: string; nested: Item[] } | { key: string; list: Item[] }

const leafItem: fc.Arbitrary<Item> = fc.oneof(
  fc.record({ comment: fc.constantFrom(' marker', ' other', ' keep plain', '') }),
  fc.record({ key: fc.constantFrom('a', 'b', 'c'), value: fc.constant('v') }),
)

function item(depth: number): fc.Arbitrary<Item> {
  if (depth <= 1) return leafItem
  const inner = fc.array(item(depth - 1), { maxLength: 6 })
  return fc.oneof(
    { weight: 4, arbitrary: leafItem },
    { weight: 1, arbitrary: fc.record({ key: fc.constantFrom('m', 'n'), nested: inner }) },
    { weight: 1, arbitrary: fc.record({ key: fc.constant('l'), list: inner }) },
  )
}

function toMap(items: Item[]): TreeMap {
  const map = new TreeMap()
  for (const it of items) {
    if ('comment' in it) map.items.push(new Comment(it.comment))
    else map.items.push({ key: it.key, value: toValue(it) })
  }
  return map
}

function toValue(it: Exclude<Item, { comment: string }>): Value {
  if ('value' in it) return it.value
  if ('nested' in it) return toMap(it.nested)
  return new TreeSeq(it.list.map((x) => ('comment' in x ? new Comment(x.comment) : toValue(x))))
}

describe('comment rules', () => {
  for (const rules of [{ unencryptedCommentRegex: 'keep' }, { encryptedCommentRegex: 'marker' }] as EncryptionRules[]) {
    it(`${Object.keys(rules)[0]}: same verdict as the definition on every leaf`, () => {
      fc.assert(
        fc.property(fc.array(item(4), { maxLength: 12 }), (items) => {
          const selector = new LeafSelector(rules)
          visitLeaves([toMap(items)], (leaf, path, stack) => {
            const isComment = leaf instanceof Comment
            const plain = stack.map((run) => [...run.texts])
            expect(selector.shouldEncrypt(path, stack, isComment)).toBe(naive(rules, plain, isComment))
          })
        }),
        { numRuns: 300 },
      )
    })
  }

  it('tests each comment against the regex once, however many leaves follow it', () => {
    const seen = new Map<string, number>()
    const map = new TreeMap()
    for (let i = 0; i < 200; i++) map.items.push(new Comment(`comment ${i}`))
    for (let i = 0; i < 50; i++) map.items.push({ key: `k${i}`, value: 'v' })
    const selector = new LeafSelector({ unencryptedCommentRegex: 'never-matches' })
    // Count the regex calls through the compiled pattern's test().
    const re = compileRe2('never-matches', 'x') as { test: (s: string) => boolean }
    const original = re.test
    re.test = (s: string) => {
      seen.set(s, (seen.get(s) ?? 0) + 1)
      return original(s)
    }
    try {
      visitLeaves([map], (leaf, path, stack) => void selector.shouldEncrypt(path, stack, leaf instanceof Comment))
    } finally {
      re.test = original
    }
    expect(seen.size).toBe(200)
    expect(Math.max(...seen.values())).toBe(1)
  })
})

// The walk folds the rules' verdicts in one key and one comment at a time (linear in the tree);
// LeafSelector.shouldEncrypt applies them to a whole path and comment stack at once. Both must
// decide every leaf alike.
const WORDS = ['a', 'secret', 'secret_x', 'x_enc', 'plain_unencrypted', 'public', 'y']
const COMMENTS = [' sops:enc', ' sops:plain', ' note', '']

const keyArb = fc.constantFrom(...WORDS)
const commentArb = fc.constantFrom(...COMMENTS).map((t) => new Comment(t))
const { tree } = fc.letrec<{ tree: TreeMap; value: Value; seq: TreeSeq }>((rec) => ({
  tree: fc
    .array(fc.oneof(commentArb, fc.tuple(keyArb, rec('value'))), { maxLength: 6 })
    .map((items) => new TreeMap(items.map((i) => (i instanceof Comment ? i : { key: i[0], value: i[1] })))),
  seq: fc.array(fc.oneof(commentArb, rec('value'), fc.constant('ENC[AES256_GCM,data:x,iv:y,tag:z,type:comment]')), { maxLength: 4 }).map((items) => new TreeSeq(items)),
  value: fc.oneof({ depthSize: 'small' }, fc.constantFrom('v', 1n, true), rec('tree'), rec('seq')),
}))

const RULES: EncryptionRules[] = [
  {},
  { unencryptedSuffix: '_unencrypted' },
  { encryptedSuffix: '_enc' },
  { encryptedRegex: '^secret' },
  { unencryptedRegex: '^public' },
  { encryptedCommentRegex: 'sops:enc' },
  { unencryptedCommentRegex: 'sops:plain' },
]

describe('rules applied during the walk', () => {
  it('decide every leaf and comment as shouldEncrypt does on its whole path and comment stack', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom(...RULES), (root, rules) => {
        const selector = new LeafSelector(rules)
        visitLeaves(
          [root],
          (leaf, path, stack, encrypted) => {
            expect(encrypted).toBe(selector.shouldEncrypt(path, stack, leaf instanceof Comment))
          },
          selector,
        )
      }),
      { numRuns: 1500 },
    )
  })

  it('a marker comment does not encrypt itself, but encrypts the comments and values after it', () => {
    const root = new TreeMap([new Comment(' sops:enc'), new Comment(' after'), { key: 'k', value: 'v' }, { key: 'later', value: 'w' }])
    const decided: [string, boolean][] = []
    visitLeaves([root], (leaf, path, _stack, encrypted) => decided.push([leaf instanceof Comment ? `#${leaf.text}` : path.join('.'), encrypted]), new LeafSelector({ encryptedCommentRegex: 'sops:enc' }))
    expect(decided).toStrictEqual([
      ['# sops:enc', false],
      ['# after', true],
      ['k', true],
      ['later', false],
    ])
  })
})
