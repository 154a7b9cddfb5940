/** The key-level three-way merge and the conflict text, as pure functions. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Comment, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { mergeTrees, sameValue } from '../../src/git/merge3.js'
import { diffLines, hasConflictMarkers, renderConflict, splitConflict, splitLines } from '../../src/git/conflict.js'
import { hasTsopsConflict } from '../../src/check/markers.js'

const m = (...entries: [string, Value | Comment][]) => new TreeMap(entries.map(([k, v]) => (v instanceof Comment ? v : { key: k, value: v as Value })))
const keys = (t: TreeMap) => t.entries().map((e) => e.key)

function merge(base: TreeMap | undefined, ours: TreeMap, theirs: TreeMap) {
  return mergeTrees(base ? [base] : undefined, [ours], [theirs])
}

describe('mergeTrees', () => {
  const base = m(['a', '1'], ['b', m(['c', '2'], ['d', '3'])], ['list', new TreeSeq(['x', 'y'])], ['n', null])

  it('takes each side\'s change to different keys, recursively, keeping ours\' order and comments', () => {
    const ours = m(['', new Comment(' ours comment')], ['a', 'ours-a'], ['b', m(['c', '2'], ['d', '3'])], ['list', new TreeSeq(['x', 'y'])], ['n', null])
    const theirs = m(['a', '1'], ['b', m(['c', '2'], ['d', 'theirs-d'], ['e', 'new'])], ['list', new TreeSeq(['x', 'y', 'z'])], ['n', null])
    const r = merge(base, ours, theirs)
    expect(r.conflicts).toEqual([])
    const want = m(['', new Comment(' ours comment')], ['a', 'ours-a'], ['b', m(['c', '2'], ['d', 'theirs-d'], ['e', 'new'])], ['list', new TreeSeq(['x', 'y', 'z'])], ['n', null])
    expect(sameValue(r.ours[0], want)).toBe(true)
    expect(sameValue(r.theirs[0], want)).toBe(true)
  })

  it('reports both-sides changes as conflicts and resolves each tree with its own side', () => {
    const ours = m(['a', 'ours'], ['b', 'scalar-now'], ['list', new TreeSeq(['x'])], ['n', null])
    const theirs = m(['a', 'theirs'], ['b', m(['c', '2'], ['d', 'changed'])], ['list', new TreeSeq(['y'])], ['n', null])
    const r = merge(base, ours, theirs)
    expect(r.conflicts).toEqual(['a', 'b', 'list'])
    expect(r.ours[0]!.get('a')).toBe('ours')
    expect(r.theirs[0]!.get('a')).toBe('theirs')
    expect(r.ours[0]!.get('b')).toBe('scalar-now')
    expect(r.theirs[0]!.get('b')).toBeInstanceOf(TreeMap)
  })

  it('treats a deletion against a change as a conflict, and the same change on both sides as none', () => {
    const ours = m(['b', m(['c', '2'], ['d', '3'])], ['list', new TreeSeq(['x', 'y'])], ['n', 'set'])
    const theirs = m(['a', 'changed'], ['b', m(['c', '2'], ['d', '3'])], ['list', new TreeSeq(['x', 'y'])], ['n', 'set'])
    const r = merge(base, ours, theirs)
    expect(r.conflicts).toEqual(['a'])
    expect(keys(r.ours[0]!)).toEqual(['b', 'list', 'n'])
    expect(keys(r.theirs[0]!)).toEqual(['a', 'b', 'list', 'n'])
    expect(r.ours[0]!.get('n')).toBe('set')
  })

  it('distinguishes types: the string "5" is not the int 5, null is not absent', () => {
    const r = merge(m(['v', '5']), m(['v', 5n]), m(['v', '5']))
    expect(r.conflicts).toEqual([])
    expect(r.ours[0]!.get('v')).toBe(5n)
    const nul = merge(m(['v', 'x']), m(['v', null]), m(['v', 'x']))
    expect(nul.ours[0]!.entry('v')?.value).toBeNull()
  })

  it('without a base (both sides added the file), equal keys merge and different values conflict', () => {
    const r = merge(undefined, m(['a', '1'], ['b', 'ours']), m(['a', '1'], ['b', 'theirs'], ['c', 'theirs-only']))
    expect(r.conflicts).toEqual(['b'])
    expect(keys(r.ours[0]!)).toEqual(['a', 'b', 'c'])
  })

  it('inserts a key only theirs added after the key it follows in theirs', () => {
    const r = merge(m(['a', '1'], ['c', '3']), m(['a', '1'], ['c', '3'], ['z', 'ours']), m(['a', '1'], ['b', 'new'], ['c', '3']))
    expect(keys(r.ours[0]!)).toEqual(['a', 'b', 'c', 'z'])
  })

  it('is the identity when one side did not change (property)', () => {
    const scalar = fc.oneof(fc.string({ maxLength: 4 }), fc.bigInt({ min: -3n, max: 3n }), fc.boolean(), fc.constant(null))
    const { tree } = fc.letrec((tie) => ({
      tree: fc
        .uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.oneof({ depthSize: 'small' }, scalar, tie('tree'))), { selector: ([k]) => k, maxLength: 4 })
        .map((entries) => new TreeMap(entries.map(([key, value]) => ({ key, value: value as Value })))),
    }))
    fc.assert(
      fc.property(tree, tree, (b, x) => {
        const bt = b as TreeMap
        const xt = x as TreeMap
        const a = merge(bt, xt, bt)
        const c = merge(bt, bt, xt)
        const same = merge(bt, xt, xt)
        return (
          a.conflicts.length === 0 &&
          sameValue(a.ours[0], xt) &&
          c.conflicts.length === 0 &&
          sameValue(c.ours[0], xt) &&
          same.conflicts.length === 0 &&
          sameValue(same.ours[0], xt)
        )
      }),
    )
  })
})

describe('conflict text', () => {
  const lines = fc.array(fc.constantFrom('a\n', 'b\n', 'c\n', 'key: ENC[x]\n', 'mac: y\n'), { maxLength: 30 })

  it('diffLines is a valid edit script (property)', () => {
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const ops = diffLines(a, b)
        const fromA = ops.filter((o) => o.kind !== 'ins').map((o) => a[(o as { a: number }).a])
        const toB = ops.filter((o) => o.kind !== 'del').map((o) => b[(o as { b: number }).b])
        return fromA.join('') === a.join('') && toB.join('') === b.join('') && ops.filter((o) => o.kind === 'same').every((o) => a[(o as { a: number }).a] === b[(o as { b: number }).b])
      }),
    )
  })

  it('splitConflict recovers both versions from renderConflict (property)', () => {
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const text = renderConflict(a.join(''), b.join(''), { ours: 'ours', theirs: 'theirs' })
        const split = splitConflict(text)
        return split.ours === a.join('') && split.theirs === b.join('') && (split.hunks === 0) === (a.join('') === b.join(''))
      }),
    )
  })

  it('marks only the differing lines, honours the marker size, and is recognised', () => {
    const text = renderConflict('a: 1\nb: ENC[x]\nc: 3\nmac: m1\n', 'a: 1\nb: ENC[y]\nc: 3\nmac: m2\n', { ours: 'ours (tsops: x)', theirs: 'theirs' }, 9)
    expect(text).toBe('a: 1\n<<<<<<<<< ours (tsops: x)\nb: ENC[x]\n=========\nb: ENC[y]\n>>>>>>>>> theirs\nc: 3\n<<<<<<<<< ours (tsops: x)\nmac: m1\n=========\nmac: m2\n>>>>>>>>> theirs\n')
    expect(hasConflictMarkers(text)).toBe(true)
    expect(hasTsopsConflict(Buffer.from(text))).toBe(true)
    expect(hasTsopsConflict(Buffer.from('a: 1\n<<<<<<< HEAD\n'))).toBe(false)
    expect(splitConflict(text).hunks).toBe(2)
  })

  it('keeps a last line without a line break', () => {
    expect(splitLines('a\nb')).toEqual(['a\n', 'b'])
    const text = renderConflict('a\nb', 'a\nc', { ours: 'o', theirs: 't' })
    expect(text).toBe('a\n<<<<<<< o\nb\n=======\nc\n>>>>>>> t\n')
  })
})
