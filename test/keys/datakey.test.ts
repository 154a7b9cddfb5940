import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { DataKeyError, GenericError } from '../../src/core/errors.js'
import { type DataKeyUnavailableError, formatNoKeyMessage, unwrapDataKey, wordWrap, wrapDataKey } from '../../src/keys/datakey.js'
import { ageKeySource, generateAgeIdentity } from '../../src/keys/age.js'
import { combine } from '../../src/keys/shamir.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource, type KeyType } from '../../src/keys/types.js'

const rand = (n: number) => new Uint8Array(randomBytes(n))
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const ctx: KeyContext = { env: {} }

/**
 * A fake master key: "encrypts" by hex-encoding (tests only), counts unwrap calls, and can be told
 * to fail. Entries carry the registry's id field so messages show the right id.
 */
class FakeKey implements KeySource {
  unwrapCalls = 0
  wrapCalls = 0
  constructor(
    readonly type: KeyType,
    readonly id: string,
    private readonly opts: { failUnwrap?: string; unwrapHint?: string; failWrap?: string | Error; delayMs?: number; onWrap?: () => void } = {},
  ) {}
  async wrap(part: Uint8Array): Promise<KeyEntry> {
    this.wrapCalls++
    this.opts.onWrap?.()
    if (this.opts.delayMs) await new Promise((r) => setTimeout(r, this.opts.delayMs))
    if (this.opts.failWrap) throw typeof this.opts.failWrap === 'string' ? new Error(this.opts.failWrap) : this.opts.failWrap
    return { type: this.type, fields: { [this.type === 'age' ? 'recipient' : 'fp']: this.id, enc: hex(part) } }
  }
  async unwrap(entry: KeyEntry): Promise<Uint8Array> {
    this.unwrapCalls++
    if (this.opts.failUnwrap) throw new KeyUnwrapError(this.type, this.id, this.opts.failUnwrap, this.opts.unwrapHint)
    return new Uint8Array(Buffer.from(entry.fields.enc as string, 'hex'))
  }
}

/** Resolve entries to the fake with the same id (what the registry does for real types). */
const resolverFor = (keys: FakeKey[]) => async (entry: KeyEntry) => {
  const id = (entry.fields.recipient ?? entry.fields.fp) as string
  const k = keys.find((x) => x.id === id)
  if (!k) throw new Error(`no fake for ${id}`)
  return k
}

describe('wrapDataKey', () => {
  it('1 group: every key wraps the whole data key; the threshold is passed through', async () => {
    const keys = [new FakeKey('age', 'a1'), new FakeKey('pgp', 'P1')]
    const dataKey = rand(32)
    const out = await wrapDataKey(dataKey, [keys], 0, ctx)
    expect(out.threshold).toBe(0)
    expect(out.groups).toHaveLength(1)
    expect(out.groups[0]!.map((e) => e.fields.enc)).toEqual([hex(dataKey), hex(dataKey)])
    expect((await wrapDataKey(dataKey, [keys], 3, ctx)).threshold).toBe(3) // still written, like sops
  })

  it('>=2 groups: Shamir shares (x = group index + 1), same share for every key of a group', async () => {
    const groups = [[new FakeKey('age', 'a1'), new FakeKey('pgp', 'P1')], [new FakeKey('age', 'a2')], [new FakeKey('age', 'a3')]]
    const dataKey = rand(32)
    const out = await wrapDataKey(dataKey, groups, 2, ctx)
    expect(out.threshold).toBe(2)
    const shares = out.groups.map((g) => g.map((e) => new Uint8Array(Buffer.from(e.fields.enc as string, 'hex'))))
    shares.forEach((g, i) => {
      for (const s of g) {
        expect(s).toHaveLength(33)
        expect(s[32]).toBe(i + 1)
        expect(hex(s)).toBe(hex(g[0]!))
      }
    })
    expect(hex(combine([shares[0]![0]!, shares[2]![0]!]))).toBe(hex(dataKey))
  })

  it('threshold defaults to the number of groups', async () => {
    const out = await wrapDataKey(rand(32), [[new FakeKey('age', 'a')], [new FakeKey('age', 'b')], [new FakeKey('age', 'c')]], 0, ctx)
    expect(out.threshold).toBe(3)
  })

  it('stamps created_at once, from the injected clock, on the types that store one (not age)', async () => {
    const now = () => new Date('2031-02-03T04:05:06.789Z')
    const { groups } = await wrapDataKey(rand(32), [[new FakeKey('pgp', 'A'), new FakeKey('age', 'age1x')], [new FakeKey('kms', 'arn')]], 0, { env: {}, now })
    expect(groups.flat().map((e) => e.fields.created_at)).toEqual(['2031-02-03T04:05:06Z', undefined, '2031-02-03T04:05:06Z'])
  })

  it('wraps all keys in parallel', async () => {
    let running = 0
    let peak = 0
    const mk = (id: string) =>
      new FakeKey('age', id, {
        delayMs: 20,
        onWrap: () => {
          running++
          peak = Math.max(peak, running)
          setTimeout(() => running--, 20)
        },
      })
    await wrapDataKey(rand(32), [[mk('a'), mk('b')], [mk('c')]], 0, ctx)
    expect(peak).toBe(3)
  })

  it('sops\'s errors: no groups, empty group, failing keys (exit 1)', async () => {
    await expect(wrapDataKey(rand(32), [], 0, ctx)).rejects.toThrow('Could not generate data key: [no key groups provided]')
    await expect(wrapDataKey(rand(32), [[new FakeKey('age', 'a')], []], 0, ctx)).rejects.toThrow(
      'Could not generate data key: [empty key group provided]',
    )
    const err = await wrapDataKey(rand(32), [[new FakeKey('age', 'a', { failWrap: 'boom' }), new FakeKey('pgp', 'P', { failWrap: 'bang' })]], 0, ctx).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(GenericError)
    expect((err as GenericError).exitCode).toBe(1)
    expect((err as Error).message).toBe(
      'Could not generate data key: [failed to encrypt new data key with master key "a": boom failed to encrypt new data key with master key "P": bang]',
    )
    await expect(wrapDataKey(rand(32), [[new FakeKey('age', 'a')], [new FakeKey('age', 'b')]], 3, ctx)).rejects.toThrow(
      'Could not generate data key: [could not split data key into parts for Shamir: parts cannot be less than threshold]',
    )
  })

  it("keeps the failing keys' hints (each once) beside sops's message, which stays as it was", async () => {
    const noCredentials = () => new GenericError('no AWS credentials found', { code: 'KEY_WRAP_FAILED', hint: 'Set AWS_PROFILE.' })
    const keys = [
      new FakeKey('kms', 'arn1', { failWrap: noCredentials() }),
      new FakeKey('kms', 'arn2', { failWrap: noCredentials() }),
      new FakeKey('pgp', 'P', { failWrap: new GenericError('gpg failed', { code: 'KEY_WRAP_FAILED', hint: 'Import the key.' }) }),
      new FakeKey('age', 'a', { failWrap: 'boom' }),
    ]
    const err = (await wrapDataKey(rand(32), [keys], 0, ctx).catch((e: unknown) => e)) as GenericError
    expect(err).toBeInstanceOf(GenericError)
    expect(err.message).toBe(
      'Could not generate data key: [failed to encrypt new data key with master key "arn1": no AWS credentials found ' +
        'failed to encrypt new data key with master key "arn2": no AWS credentials found ' +
        'failed to encrypt new data key with master key "P": gpg failed failed to encrypt new data key with master key "a": boom]',
    )
    expect(err.hint).toBe('Set AWS_PROFILE. Import the key.')
    // No hint at all when no failing key had one.
    const plain = (await wrapDataKey(rand(32), [[new FakeKey('age', 'a', { failWrap: 'boom' })]], 0, ctx).catch((e: unknown) => e)) as GenericError
    expect(plain.hint).toBeUndefined()
  })
})

describe('unwrapDataKey', () => {
  it("a failure keeps the failing keys' hints (each once), from failed groups only; the message is sops's", async () => {
    const good = [new FakeKey('age', 'a'), new FakeKey('kms', 'k1'), new FakeKey('kms', 'k2')]
    const { groups } = await wrapDataKey(rand(32), [[good[0]!], [good[1]!, good[2]!]], 2, ctx)
    const failing = [
      new FakeKey('age', 'a', { failUnwrap: 'no identity', unwrapHint: 'Add an age identity.' }),
      new FakeKey('kms', 'k1', { failUnwrap: 'no AWS credentials found', unwrapHint: 'Set AWS_PROFILE.' }),
      new FakeKey('kms', 'k2', { failUnwrap: 'no AWS credentials found', unwrapHint: 'Set AWS_PROFILE.' }),
    ]
    // Both groups fail: both hints, the shared one once.
    const err = (await unwrapDataKey(groups, 2, ctx, undefined, resolverFor(failing)).catch((e: unknown) => e)) as DataKeyUnavailableError
    expect(err).toBeInstanceOf(DataKeyError)
    expect(err.message).not.toContain('Set AWS_PROFILE')
    expect(err.hint).toBe('Add an age identity. Set AWS_PROFILE.')
    // The age group succeeds: its key's hint is dropped with it.
    const ageOk = [good[0]!, failing[1]!, failing[2]!]
    const partial = (await unwrapDataKey(groups, 2, ctx, undefined, resolverFor(ageOk)).catch((e: unknown) => e)) as DataKeyUnavailableError
    expect(partial.hint).toBe('Set AWS_PROFILE.')
    const noHint = [new FakeKey('age', 'a', { failUnwrap: 'x' }), new FakeKey('kms', 'k1', { failUnwrap: 'y' }), new FakeKey('kms', 'k2', { failUnwrap: 'z' })]
    const plain = (await unwrapDataKey(groups, 2, ctx, undefined, resolverFor(noHint)).catch((e: unknown) => e)) as DataKeyUnavailableError
    expect(plain.hint).toBeUndefined()
  })

  it('1 group: stops at the first key that works', async () => {
    const keys = [new FakeKey('age', 'a1'), new FakeKey('age', 'a2'), new FakeKey('pgp', 'P1')]
    const dataKey = rand(32)
    const { groups } = await wrapDataKey(dataKey, [keys], 0, ctx)
    expect(hex(await unwrapDataKey(groups, 0, ctx, undefined, resolverFor(keys)))).toBe(hex(dataKey))
    expect(keys.map((k) => k.unwrapCalls)).toEqual([1, 0, 0])
  })

  it('tries keys one at a time in decryption order and never asks a key after a success', async () => {
    const keys = [new FakeKey('pgp', 'P1'), new FakeKey('age', 'a1', { failUnwrap: 'no' }), new FakeKey('age', 'a2'), new FakeKey('pgp', 'P2')]
    const dataKey = rand(32)
    const { groups } = await wrapDataKey(dataKey, [keys], 0, ctx)
    // default order age,pgp: a1 (fails), a2 (works); the pgp keys are never asked
    expect(hex(await unwrapDataKey(groups, 0, ctx, ['age', 'pgp'], resolverFor(keys)))).toBe(hex(dataKey))
    expect(keys.map((k) => k.unwrapCalls)).toEqual([0, 1, 1, 0])
    // pgp first: P1 works at once
    await unwrapDataKey(groups, 0, ctx, ['pgp'], resolverFor(keys))
    expect(keys.map((k) => k.unwrapCalls)).toEqual([1, 1, 1, 0])
  })

  it('2-of-3 groups: any two successful groups are enough; one success per group', async () => {
    const keys = [
      [new FakeKey('age', 'a1', { failUnwrap: 'no identity matched any of the recipients' })],
      [new FakeKey('age', 'b1'), new FakeKey('age', 'b2')],
      [new FakeKey('pgp', 'C1')],
    ]
    const dataKey = rand(32)
    const { groups, threshold } = await wrapDataKey(dataKey, keys, 2, ctx)
    expect(hex(await unwrapDataKey(groups, threshold, ctx, undefined, resolverFor(keys.flat())))).toBe(hex(dataKey))
    expect(keys.flat().map((k) => k.unwrapCalls)).toEqual([1, 1, 0, 1])
  })

  it('below the threshold: DataKeyError (exit 128) with sops\'s Shamir message', async () => {
    const keys = [[new FakeKey('age', 'a1', { failUnwrap: 'nope' })], [new FakeKey('age', 'b1')], [new FakeKey('pgp', 'C1', { failUnwrap: 'gpg: decryption failed: No secret key' })]]
    const { groups } = await wrapDataKey(rand(32), keys, 2, ctx)
    const err = (await unwrapDataKey(groups, 2, ctx, undefined, resolverFor(keys.flat())).catch((e: unknown) => e)) as DataKeyUnavailableError
    expect(err).toBeInstanceOf(DataKeyError)
    expect(err.exitCode).toBe(128)
    expect(err.message).toBe(
      [
        'Failed to get the data key required to decrypt the SOPS file.',
        '',
        'Group 0: FAILED',
        '  a1: FAILED',
        '    - | nope',
        '',
        'Group 1: SUCCESS',
        '',
        'Group 2: FAILED',
        '  C1: FAILED',
        '    - | gpg: decryption failed: No secret key',
        '',
        'Recovery failed because the file was encrypted with a Shamir threshold of',
        '2, but only 1 part(s) were successfully recovered, one for each successful',
        'key group. In order for SOPS to recover the file, at least 2 groups have to',
        'be successful. In order for a group to be successful, decryption has to',
        'succeed with any of the keys in that key group.',
      ].join('\n'),
    )
    expect(err.groups.map((g) => g.ok)).toEqual([false, true, false])
  })

  it('a hand-edited threshold of 0 with several groups still needs 2 parts', async () => {
    const keys = [[new FakeKey('age', 'a1')], [new FakeKey('age', 'b1', { failUnwrap: 'x' })]]
    const { groups } = await wrapDataKey(rand(32), keys, 0, ctx)
    await expect(unwrapDataKey(groups, 0, ctx, undefined, resolverFor(keys.flat()))).rejects.toThrow(/only 1 part\(s\)/)
  })

  it('an empty line inside a reason keeps its "  | " prefix, as sops prints it', async () => {
    const keys = [new FakeKey('hc_vault', 'http://v/v1/t/keys/k', { failUnwrap: 'failed: Error making API request.\n\nURL: PUT http://v\nCode: 403. Errors:\n\n* permission denied' })]
    const { groups } = await wrapDataKey(rand(32), [keys], 0, ctx)
    const err = (await unwrapDataKey(groups, 0, ctx, undefined, resolverFor(keys)).catch((e: unknown) => e)) as Error
    expect(err.message).toContain(
      ['    - | failed: Error making API request.', '      | ', '      | URL: PUT http://v', '      | Code: 403. Errors:', '      | ', '      | * permission denied', ''].join('\n'),
    )
  })

  it('no key works: lists each key tried and why, in sops\'s layout (long reasons wrapped at 60)', async () => {
    const long =
      'could not decrypt data key with PGP key: GnuPG binary error: gpg: decryption failed: No secret key (exit status 2)'
    const keys = [new FakeKey('pgp', 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4', { failUnwrap: long }), new FakeKey('age', 'age1xyz', { failUnwrap: 'no identity matched any of the recipients' })]
    const { groups } = await wrapDataKey(rand(32), [keys], 0, ctx)
    const err = (await unwrapDataKey(groups, 0, ctx, undefined, resolverFor(keys)).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(DataKeyError)
    expect(err.message).toBe(
      [
        'Failed to get the data key required to decrypt the SOPS file.',
        '',
        'Group 0: FAILED',
        '  age1xyz: FAILED',
        '    - | no identity matched any of the recipients',
        '  ', // sops's prefixer indents the empty line between keys too
        '  FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4: FAILED',
        '    - | could not decrypt data key with PGP key: GnuPG binary error:',
        '      | gpg: decryption failed: No secret key (exit status 2)',
        '',
        'Recovery failed because no master key was able to decrypt the file. In',
        'order for SOPS to recover the file, at least one key has to be successful,',
        'but none were.',
      ].join('\n'),
    )
  })

  it('a cloud key that cannot be used fails with a reason instead of crashing (real registry)', async () => {
    // HuaweiCloud KMS with no credentials (envOnly and no HOME: no credentials file either).
    const groups: KeyEntry[][] = [[{ type: 'hckms', fields: { key_id: 'region:uuid', enc: 'AAAA', created_at: '2024-01-01T00:00:00Z' } }]]
    await expect(unwrapDataKey(groups, 0, { ...ctx, envOnly: true })).rejects.toThrow(/region:uuid: FAILED\n {4}- \| failed to create HuaweiCloud KMS client/)
  })

  it('no groups at all is exit 128 too', async () => {
    await expect(unwrapDataKey([], 0, ctx)).rejects.toThrow(/no key groups/)
  })

  it('stops when ctx.signal is aborted', async () => {
    const keys = [new FakeKey('age', 'a1')]
    const { groups } = await wrapDataKey(rand(32), [keys], 0, ctx)
    const ac = new AbortController()
    ac.abort()
    await expect(unwrapDataKey(groups, 0, { env: {}, signal: ac.signal }, undefined, resolverFor(keys))).rejects.toThrow()
    expect(keys[0]!.unwrapCalls).toBe(0)
  })
})

describe('with real age keys through the registry', () => {
  it('2-of-2 groups round trip', async () => {
    const [a, b] = await Promise.all([generateAgeIdentity(), generateAgeIdentity()])
    const dataKey = rand(32)
    const wrapped = await wrapDataKey(dataKey, [[ageKeySource(a.recipient)], [ageKeySource(b.recipient)]], 0, ctx)
    expect(wrapped.threshold).toBe(2)
    const env = { HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' }
    const both = { env, ageIdentities: [a.identity, b.identity] }
    expect(hex(await unwrapDataKey(wrapped.groups, wrapped.threshold, both))).toBe(hex(dataKey))
    const one = { env, ageIdentities: [a.identity] }
    await expect(unwrapDataKey(wrapped.groups, wrapped.threshold, one)).rejects.toThrow(
      /Group 1: FAILED\n {2}age1\S+: FAILED\n {4}- \| failed to create reader for decrypting sops data key with\n {6}\| age: identity did not match any of the recipients/,
    )
  })
})

describe('formatting helpers', () => {
  it('wordWrap behaves like go-wordwrap (long words kept whole, newlines kept)', () => {
    expect(wordWrap('aaa bbb ccc', 7)).toBe('aaa bbb\nccc')
    expect(wordWrap('averyveryverylongword x', 5)).toBe('averyveryverylongword\nx')
    expect(wordWrap('a b\nc d', 3)).toBe('a b\nc d')
  })

  it('an empty failed group still renders', () => {
    expect(formatNoKeyMessage([{ ok: false, attempts: [] }], 0)).toContain('Group 0: FAILED\n')
  })
})
