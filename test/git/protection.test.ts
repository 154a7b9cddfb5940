/** Three-way merge of key groups, threshold and rules (src/git/protection.ts). */
import { describe, expect, it } from 'vitest'
import { mergeProtection, restricts, type Protection } from '../../src/git/protection.js'
import type { KeyEntry } from '../../src/keys/types.js'

const age = (r: string, enc = `enc-${r}`): KeyEntry => ({ type: 'age', fields: { recipient: r, enc } })
const p = (groups: string[][], shamirThreshold = 0, rules: Protection['rules'] = {}): Protection => ({
  keyGroups: groups.map((g) => g.map((r) => age(r))),
  shamirThreshold,
  rules,
})
const ids = (m: ReturnType<typeof mergeProtection>) => (m.kind === 'merged' ? m.protection.keyGroups.map((g) => g.map((e) => e.fields.recipient)) : m.what)

describe('mergeProtection', () => {
  it('a key removed on either side stays removed; a key added on either side stays added', () => {
    const base = p([['alice', 'bob']])
    expect(ids(mergeProtection(base, p([['alice', 'bob']]), p([['alice']])))).toEqual([['alice']])
    expect(ids(mergeProtection(base, p([['alice']]), p([['alice', 'bob']])))).toEqual([['alice']])
    expect(ids(mergeProtection(base, p([['alice', 'bob', 'carol']]), p([['alice', 'bob']])))).toEqual([['alice', 'bob', 'carol']])
    expect(ids(mergeProtection(base, p([['alice', 'bob']]), p([['bob', 'alice', 'carol']])))).toEqual([['alice', 'bob', 'carol']])
    expect(ids(mergeProtection(base, p([['alice', 'carol']]), p([['alice', 'bob', 'dave']])))).toEqual([['alice', 'carol', 'dave']])
  })

  it('per group, matched by position; a change of the number of groups on one side is taken, on both sides a conflict', () => {
    const base = p([['a1', 'a2'], ['b1']], 2)
    expect(ids(mergeProtection(base, p([['a1'], ['b1']], 2), p([['a1', 'a2'], ['b1', 'b2']], 2)))).toEqual([['a1'], ['b1', 'b2']])
    expect(ids(mergeProtection(base, p([['a1', 'a2'], ['b1']], 2), p([['a1', 'a2'], ['b1'], ['c1']], 2)))).toEqual([['a1', 'a2'], ['b1'], ['c1']])
    expect(mergeProtection(base, p([['a1', 'a2']], 0), p([['a1', 'a2'], ['b1'], ['c1']], 2)).kind).toBe('conflict')
  })

  it('threshold and rules changed differently on both sides are conflicts; on one side, taken', () => {
    const base = p([['a'], ['b'], ['c']], 2)
    expect(mergeProtection(base, p([['a'], ['b'], ['c']], 3), p([['a'], ['b'], ['c']], 1))).toEqual({ kind: 'conflict', what: ['sops.shamir_threshold'] })
    const m = mergeProtection(base, p([['a'], ['b'], ['c']], 3), p([['a'], ['b'], ['c']], 2))
    expect(m.kind === 'merged' && m.protection.shamirThreshold).toBe(3)
    const r = mergeProtection(p([['a']]), p([['a']], 0, { encryptedRegex: '^pw' }), p([['a']], 0, { unencryptedSuffix: '_plain' }))
    expect(r.kind).toBe('conflict')
  })

  it('a group left without a key is a conflict', () => {
    expect(mergeProtection(p([['a', 'b']]), p([['b']]), p([['a']])).kind).toBe('conflict')
  })

  it('without a base, only keys both sides have are kept', () => {
    expect(ids(mergeProtection(undefined, p([['alice', 'bob']]), p([['alice', 'carol']])))).toEqual([['alice']])
  })
})

describe('restricts', () => {
  it('is true when a reader of the side is not in the merged groups, or more groups are needed', () => {
    expect(restricts(p([['alice']]), p([['alice', 'bob']]))).toBe(true)
    expect(restricts(p([['alice', 'bob']]), p([['alice']]))).toBe(false)
    expect(restricts(p([['a'], ['b']], 2), p([['a'], ['b']], 1))).toBe(true)
    expect(restricts(p([['a'], ['b']], 1), p([['a'], ['b']], 2))).toBe(false)
  })
})
