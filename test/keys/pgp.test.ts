import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { createGpgHome, disposeGeneratedGpgHome, generatedGpgHome, type GeneratedGpgHome, type GpgHome } from '../helpers/gpg.js'
import { fromEntry, fromSpec, pgpKeySource } from '../../src/keys/pgp.js'
import { KeyUnwrapError, type KeyEntry } from '../../src/keys/types.js'
import { writtenEntry } from '../helpers/written-entry.js'

const rand = (n: number) => new Uint8Array(randomBytes(n))

let gpg: GeneratedGpgHome
let empty: GpgHome

beforeAll(async () => {
  gpg = await generatedGpgHome()
  empty = await createGpgHome()
}, 120_000)
afterAll(async () => {
  await empty?.cleanup()
  await disposeGeneratedGpgHome()
})

async function reasonOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(KeyUnwrapError)
  return (e as KeyUnwrapError).reason
}

describe('pgp key source (gpg binary, generated throw-away key)', () => {
  it('round-trips a 32-byte key and a 33-byte share', async () => {
    const src = pgpKeySource(gpg.fingerprint)
    for (const part of [rand(32), rand(33)]) {
      const entry = await src.wrap(part, { env: gpg.env })
      expect(await src.unwrap(entry, { env: gpg.env })).toEqual(part)
    }
  })

  it('writes {created_at, enc, fp}: RFC 3339 UTC seconds, trimmed armor', async () => {
    const before = Math.floor(Date.now() / 1000)
    const entry = await writtenEntry(pgpKeySource(gpg.fingerprint), rand(32), { env: gpg.env })
    expect(entry.type).toBe('pgp')
    expect(Object.keys(entry.fields).sort()).toEqual(['created_at', 'enc', 'fp'])
    expect(entry.fields.fp).toBe(gpg.fingerprint)
    const createdAt = entry.fields.created_at as string
    expect(createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Date.parse(createdAt) / 1000).toBeGreaterThanOrEqual(before)
    const enc = entry.fields.enc as string
    expect(enc.startsWith('-----BEGIN PGP MESSAGE-----\n')).toBe(true)
    expect(enc.endsWith('-----END PGP MESSAGE-----')).toBe(true) // no trailing newline: YAML `|-`
  })

  it('ids: spaces removed, case preserved', () => {
    expect(pgpKeySource('ab12 CD34').id).toBe('ab12CD34')
    expect(fromSpec(' FBC7 B9E2 ').id).toBe('FBC7B9E2')
    expect(fromEntry({ type: 'pgp', fields: { fp: 'X', enc: '' } }).id).toBe('X')
  })

  it('unwrap without the secret key fails with sops\'s reason: the OpenPGP library\'s and gpg\'s stderr', async () => {
    const entry = await pgpKeySource(gpg.fingerprint).wrap(rand(32), { env: gpg.env })
    const reason = await reasonOf(pgpKeySource(gpg.fingerprint).unwrap(entry, { env: empty.env }))
    expect(reason).toMatch(
      new RegExp(
        `^could not decrypt data key with PGP key: github.com/ProtonMail/go-crypto/openpgp error: could not load secring: open ${empty.home}/pubring.gpg: no such file or directory; ` +
          'GnuPG binary error: failed to decrypt sops data key with pgp: gpg: [^]*decryption failed: No secret key$',
      ),
    )
  })

  it('garbage enc and empty enc are reasons', async () => {
    const src = pgpKeySource(gpg.fingerprint)
    const bad: KeyEntry = { type: 'pgp', fields: { fp: gpg.fingerprint, enc: 'not a pgp message' } }
    expect(await reasonOf(src.unwrap(bad, { env: gpg.env }))).toMatch(/GnuPG binary error/)
    const none: KeyEntry = { type: 'pgp', fields: { fp: gpg.fingerprint } }
    // sops hands gpg whatever enc holds, nothing included.
    expect(await reasonOf(src.unwrap(none, { env: gpg.env }))).toMatch(/GnuPG binary error: failed to decrypt sops data key with pgp: gpg: /)
  })

  it('wrap to an unknown key fails clearly', async () => {
    await expect(pgpKeySource('0123456789ABCDEF0123456789ABCDEF01234567').wrap(rand(32), { env: gpg.env })).rejects.toThrow(
      /^could not encrypt data key with PGP key: github.com\/ProtonMail\/go-crypto\/openpgp error: key with fingerprint '0123456789ABCDEF0123456789ABCDEF01234567' is not available in keyring; GnuPG binary error: failed to encrypt sops data key with pgp: gpg: .*(No public key|not found)/,
    )
  })

  it('honours SOPS_GPG_EXEC', async () => {
    const entry = await pgpKeySource(gpg.fingerprint).wrap(rand(32), { env: gpg.env })
    const env = { ...gpg.env, SOPS_GPG_EXEC: '/nonexistent/gpg-binary' }
    expect(await reasonOf(pgpKeySource(gpg.fingerprint).unwrap(entry, { env }))).toMatch(/\/nonexistent\/gpg-binary not found/)
  })

  it('stops when ctx.signal aborts', async () => {
    const entry = await pgpKeySource(gpg.fingerprint).wrap(rand(32), { env: gpg.env })
    const ac = new AbortController()
    ac.abort()
    await expect(pgpKeySource(gpg.fingerprint).unwrap(entry, { env: gpg.env, signal: ac.signal })).rejects.toThrow()
  })
})
