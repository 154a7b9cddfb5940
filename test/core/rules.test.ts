// The walk folds the rules' verdicts in one key and one comment at a time (linear in the tree);
// LeafSelector.shouldEncrypt applies them to a whole path and comment stack at once (sops's
// shouldBeEncrypted, quadratic when called per leaf). Both must decide every leaf alike.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Comment, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { LeafSelector, type EncryptionRules } from '../../src/core/rules.js'
import { visitLeaves } from '../../src/core/walk.js'

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
