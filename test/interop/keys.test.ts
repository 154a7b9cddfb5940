/**
 * Key sources against files written by real sops (../shared/interop): the age and PGP `enc`
 * blocks must unwrap to the data key sops used. The enc blocks are cut out of the YAML text with
 * a regex so this test does not depend on the YAML store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDecipheriv, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { INTEROP } from '../helpers/paths.js'
import { FIXTURE_KEYS, fixtureGpgHome, type GpgHome } from '../helpers/gpg.js'
import { ageKeySource } from '../../src/keys/age.js'
import { pgpKeySource } from '../../src/keys/pgp.js'
import { unwrapDataKey, wrapDataKey } from '../../src/keys/datakey.js'
import { KeyUnwrapError, type KeyEntry } from '../../src/keys/types.js'

const EXAMPLE_DATA_KEY = '8c68886c50b5b72965a3cb99c5172e1d74a8aca27b39ee880b535d6907e59f68' // spec §11
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** The lines of a YAML block scalar, de-indented. */
const dedent = (block: string) =>
  block
    .split('\n')
    .map((l) => l.trim())
    .join('\n')

function ageEntries(yaml: string): KeyEntry[] {
  const re = /recipient: (\S+)\n\s+enc: \|\n([\s\S]*?-----END AGE ENCRYPTED FILE-----)\n/g
  return [...yaml.matchAll(re)].map((m) => ({ type: 'age', fields: { recipient: m[1]!, enc: `${dedent(m[2]!)}\n` } }))
}

function pgpEntries(yaml: string): KeyEntry[] {
  // Both `enc: |` and `enc: |-` occur (older sops kept gpg's trailing newline); both must work.
  const re = /enc: (\|-?)\n([\s\S]*?-----END PGP MESSAGE-----)\n\s+fp: (\S+)/g
  return [...yaml.matchAll(re)].map((m) => ({
    type: 'pgp',
    fields: { enc: dedent(m[2]!) + (m[1] === '|' ? '\n' : ''), fp: m[3]! },
  }))
}

/** sops's value cipher, just enough to prove a recovered data key is the right one. */
function decryptValue(enc: string, key: Uint8Array, aad: string): string {
  const m = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/.exec(enc)
  if (!m) throw new Error('not an ENC value')
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2]!, 'base64'))
  d.setAAD(Buffer.from(aad))
  d.setAuthTag(Buffer.from(m[3]!, 'base64'))
  return Buffer.concat([d.update(Buffer.from(m[1]!, 'base64')), d.final()]).toString()
}

describe('age: sops-age/secrets.age.yaml (sops 3.7.1)', () => {
  const noHome = { HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent' }

  it('unwraps the data key with key.txt via SOPS_AGE_KEY_FILE, and it decrypts a value', async () => {
    const yaml = await readFile(path.join(INTEROP, 'sops-age', 'secrets.age.yaml'), 'utf8')
    const [entry] = ageEntries(yaml)
    expect(entry).toBeDefined()
    const env = { ...noHome, SOPS_AGE_KEY_FILE: path.join(INTEROP, 'sops-age', 'key.txt') }
    const key = await ageKeySource(entry!.fields.recipient as string).unwrap(entry!, { env })
    expect(key).toHaveLength(32)
    const port = /port: (ENC\[.*\])/.exec(yaml)![1]!
    expect(decryptValue(port, key, 'service:port:')).toBe('92')
    // and through the registry / group logic
    expect(hex(await unwrapDataKey([[entry!]], 0, { env }))).toBe(hex(key))
  })

  it('without the identity, the group fails with the age reason', async () => {
    const yaml = await readFile(path.join(INTEROP, 'sops-age', 'secrets.age.yaml'), 'utf8')
    await expect(unwrapDataKey([ageEntries(yaml)], 0, { env: noHome })).rejects.toThrow(/failed to load age identities/)
  })
})

describe('pgp: sops fixtures with the functional-test keys', () => {
  let gpg: GpgHome
  beforeAll(async () => {
    gpg = await fixtureGpgHome()
  }, 120_000)
  afterAll(() => gpg?.cleanup())

  it('both pgp entries of example.yaml unwrap to the known data key (spec §11)', async () => {
    const entries = pgpEntries(await readFile(path.join(INTEROP, 'sops', 'example.yaml'), 'utf8'))
    expect(entries.map((e) => e.fields.fp)).toEqual([FIXTURE_KEYS.key1, FIXTURE_KEYS.key2])
    for (const entry of entries) {
      const key = await pgpKeySource(entry.fields.fp as string).unwrap(entry, { env: gpg.env })
      expect(hex(key)).toBe(EXAMPLE_DATA_KEY)
    }
    expect(hex(await unwrapDataKey([entries], 0, { env: gpg.env }))).toBe(EXAMPLE_DATA_KEY)
  })

  it('every pgp-encrypted interop file yields a 32-byte key', async () => {
    for (const name of ['comments.enc.yaml', 'multiple_keys.yaml', 'format.enc.yaml']) {
      const entries = pgpEntries(await readFile(path.join(INTEROP, 'sops', name), 'utf8'))
      expect(entries.length).toBeGreaterThan(0)
      expect(await unwrapDataKey([entries], 0, { env: gpg.env })).toHaveLength(32)
    }
  })

  it('wrap with a fixture key round-trips', async () => {
    const part = new Uint8Array(randomBytes(33))
    const src = pgpKeySource(FIXTURE_KEYS.key1)
    const entry = await src.wrap(part, { env: gpg.env })
    expect(await src.unwrap(entry, { env: gpg.env })).toEqual(part)
  })

  it('the public-only key B611… encrypts but cannot decrypt, with a clear reason', async () => {
    const src = pgpKeySource(FIXTURE_KEYS.publicOnly)
    const entry = await src.wrap(new Uint8Array(randomBytes(32)), { env: gpg.env })
    const err = (await src.unwrap(entry, { env: gpg.env }).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err).toBeInstanceOf(KeyUnwrapError)
    expect(err.keyId).toBe(FIXTURE_KEYS.publicOnly)
    expect(err.reason).toMatch(/^could not decrypt data key with PGP key: github.com\/ProtonMail\/go-crypto\/openpgp error: could not load secring: open .*\/pubring.gpg: no such file or directory; GnuPG binary error: failed to decrypt sops data key with pgp: [^]*No secret key$/)
  })

  it('a group tries B611 first (file order) and fails over to FBC7', async () => {
    const dataKey = new Uint8Array(randomBytes(32))
    const keys = [FIXTURE_KEYS.publicOnly, FIXTURE_KEYS.key1, FIXTURE_KEYS.key2].map(pgpKeySource)
    const { groups } = await wrapDataKey(dataKey, [keys], 0, { env: gpg.env })
    // D722's entry is corrupted: it is never needed because FBC7 already succeeded.
    groups[0]![2] = { type: 'pgp', fields: { ...groups[0]![2]!.fields, enc: 'garbage' } }
    expect(hex(await unwrapDataKey(groups, 0, { env: gpg.env }))).toBe(hex(dataKey))
  })

  it('when no key works, the message lists each fingerprint and gpg\'s reason', async () => {
    const keys = [FIXTURE_KEYS.publicOnly].map(pgpKeySource)
    const { groups } = await wrapDataKey(new Uint8Array(randomBytes(32)), [keys], 0, { env: gpg.env })
    await expect(unwrapDataKey(groups, 0, { env: gpg.env })).rejects.toThrow(
      new RegExp(`^Failed to get the data key required to decrypt the SOPS file\\.\\n\\nGroup 0: FAILED\\n  ${FIXTURE_KEYS.publicOnly}: FAILED\\n    - \\| could not decrypt data key with PGP key`),
    )
  })
})
