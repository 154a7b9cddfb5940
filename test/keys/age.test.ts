import { beforeAll, describe, expect, it } from 'vitest'
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { identityToRecipient } from 'age-encryption'
import {
  ageKeySource,
  defaultAgeKeyFile,
  fromEntry,
  formatAgeError,
  fromSpec,
  generateAgeIdentity,
  keygen,
  parseIdentities,
  shlexSplit,
} from '../../src/keys/age.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../../src/keys/types.js'
import { tempWorkspace } from '../helpers/workspace.js'

// Vectors from sops's age/keysource_test.go (public test keys).
const MOCK_RECIPIENT = 'age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun'
const MOCK_IDENTITY = 'AGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7'
const MOCK_OTHER_IDENTITY = 'AGE-SECRET-KEY-1432K5YRNSC44GC4986NXMX6GVZ52WTMT9C79CLUVWYY4DKDHD5JSNDP4MC'
const MOCK_ENCRYPTED_KEY = `-----BEGIN AGE ENCRYPTED FILE-----
YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBvY2t2NkdLUGRvY3l2OGNy
MVJWcUhCOEZrUG8yeCtnRnhxL0I5NFk4YjJFCmE4SVQ3MEdyZkFqRWpSa2F0NVhF
VDUybzBxdS9nSGpHSVRVMUI0UEVqZkkKLS0tIGJjeGhNQ0Y5L2VZRVVYSm90djFF
bzdnQ3UwTGljMmtrbWNMV1MxYkFzUFUK4xjOZOTGdcbzuwUY/zeBXhcF+Md3e5PQ
EylloI7MNGbadPGb
-----END AGE ENCRYPTED FILE-----`

const randomBytes = (n: number) => new Uint8Array(nodeRandomBytes(n))

const { dir: tmp } = tempWorkspace('tsops-age-')
let identity: string
let recipient: string

beforeAll(async () => {
  ;({ identity, recipient } = await generateAgeIdentity())
})

let n = 0
/** A fresh sandbox: HOME and XDG_CONFIG_HOME point into tmp so the developer's own keys never count. */
async function sandbox(extra: Record<string, string> = {}): Promise<{ dir: string; env: Record<string, string | undefined> }> {
  const dir = path.join(tmp, `s${n++}`)
  await mkdir(dir, { recursive: true })
  return { dir, env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...extra } }
}

async function wrapped(part: Uint8Array = randomBytes(32), to = recipient): Promise<{ part: Uint8Array; entry: KeyEntry }> {
  const entry = await ageKeySource(to).wrap(part, { env: {} })
  return { part, entry }
}

async function reasonOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(KeyUnwrapError)
  return (e as KeyUnwrapError).reason
}

describe('age wrap', () => {
  it('writes {recipient, enc} with enc armored exactly like `age -a`', async () => {
    const { entry } = await wrapped(randomBytes(33))
    expect(entry.type).toBe('age')
    expect(Object.keys(entry.fields).sort()).toEqual(['enc', 'recipient'])
    expect(entry.fields.recipient).toBe(recipient)
    const enc = entry.fields.enc as string
    expect(enc.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true)
    expect(enc.endsWith('\n-----END AGE ENCRYPTED FILE-----\n')).toBe(true)
    const body = enc.split('\n').slice(1, -2)
    body.slice(0, -1).forEach((l) => expect(l).toHaveLength(64))
    expect(body.at(-1)!.length).toBeLessThanOrEqual(64)
    const raw = Buffer.from(body.join(''), 'base64')
    expect(raw.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n')
    expect(raw.toString('latin1')).toContain('\n-> X25519 ')
  })

  it('trims the recipient and uses it as the id', () => {
    expect(ageKeySource(`  ${recipient}\n`).id).toBe(recipient)
    expect(fromEntry({ type: 'age', fields: { recipient, enc: '' } }).id).toBe(recipient)
  })

  it('rejects malformed SSH and plugin recipients and garbage with sops\'s errors', async () => {
    const src = (r: string) => ageKeySource(r).wrap(randomBytes(32), { env: {} })
    await expect(src('ssh-ed25519 not-base64!')).rejects.toThrow('failed to parse input as age-ssh public key: malformed SSH recipient: "ssh-ed25519 not-base64!": ssh: no key found')
    await expect(src('age1yubikey1qwerty')).rejects.toThrow('failed to parse input as age key from age plugin: invalid recipient encoding: invalid checksum')
    // sops's parse errors, in its words (age's bech32 texts).
    await expect(src('age1notvalid')).rejects.toThrow('failed to parse input as Bech32-encoded age public key: malformed recipient "age1notvalid": invalid character data part: s[1]=111')
    await expect(src('bogus')).rejects.toThrow('failed to parse input, unknown recipient type: "bogus"')
  })

  it('fromSpec parses the recipient at once, as sops does before it makes a data key', () => {
    expect(() => fromSpec('age1notvalid')).toThrow('failed to parse input as Bech32-encoded age public key: malformed recipient "age1notvalid": invalid character data part: s[1]=111')
    expect(() => fromSpec('bogus')).toThrow('failed to parse input, unknown recipient type: "bogus"')
    expect(() => fromSpec(`${MOCK_RECIPIENT.slice(0, -1)}q`)).toThrow(`malformed recipient "${MOCK_RECIPIENT.slice(0, -1)}q": invalid checksum`)
    expect(() => fromSpec('age1qqqqqqqqqqqqqqqq')).toThrow('malformed recipient "age1qqqqqqqqqqqqqqqq": invalid checksum')
    expect(fromSpec(` ${MOCK_RECIPIENT} `).id).toBe(MOCK_RECIPIENT)
  })

  it('an empty recipient (from `--age a,,b`) is sops\'s unknown recipient "", with a hint naming the empty list item', () => {
    const err = (() => {
      try {
        fromSpec(' ')
      } catch (e) {
        return e as Error & { hint?: string }
      }
    })()
    expect(err?.message).toBe('failed to parse input, unknown recipient type: ""')
    expect(err?.hint).toBe('The recipient list has an empty item (two commas in a row, or one at either end): remove it.')
  })
})

describe('age unwrap: identity sources', () => {
  it('SOPS_AGE_KEY (several identities per line, comments ignored)', async () => {
    const { part, entry } = await wrapped()
    const other = (await generateAgeIdentity()).identity
    const { env } = await sandbox({ SOPS_AGE_KEY: `# mine\n${other} ${identity}\n\n` })
    expect(await ageKeySource(recipient).unwrap(entry, { env })).toEqual(part)
  })

  it('SOPS_AGE_KEY_FILE', async () => {
    const { part, entry } = await wrapped()
    const { dir, env } = await sandbox()
    const file = path.join(dir, 'keys.txt')
    await writeFile(file, `# created: x\n# public key: ${recipient}\n${identity}\n`)
    env.SOPS_AGE_KEY_FILE = file
    expect(await ageKeySource(recipient).unwrap(entry, { env })).toEqual(part)
  })

  it('SOPS_AGE_KEY_CMD (shlex-split, SOPS_AGE_RECIPIENT set, run once per context)', async () => {
    const { part, entry } = await wrapped()
    const { dir, env } = await sandbox()
    const keyFile = path.join(dir, 'secret key.txt')
    const counter = path.join(dir, 'count')
    await writeFile(keyFile, `${identity}\n`)
    // Only prints the key when asked for the right recipient; counts its runs.
    env.SOPS_AGE_KEY_CMD = `sh -c 'echo run >> "$1"; test "$SOPS_AGE_RECIPIENT" = ${recipient} && cat "$2"' sh ${counter} "${keyFile}"`
    const ctx: KeyContext = { env }
    const src = ageKeySource(recipient)
    expect(await src.unwrap(entry, ctx)).toEqual(part)
    expect(await src.unwrap((await wrapped()).entry, ctx)).toHaveLength(32)
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toHaveLength(1)
    await src.unwrap(entry, { env }) // a new context loads again
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toHaveLength(2)
  })

  it('SOPS_AGE_KEY_CMD failure names the command status, not its output', async () => {
    const { entry } = await wrapped()
    const { env } = await sandbox({ SOPS_AGE_KEY_CMD: `sh -c 'echo ${MOCK_IDENTITY} >&2; exit 3'` })
    const reason = await reasonOf(ageKeySource(recipient).unwrap(entry, { env }))
    expect(reason).toMatch(/Errors while loading age identities: failed to execute command sh -c 'echo \[redacted age identity\] >&2; exit 3': exit status 3\./)
    expect(reason).not.toContain('AGE-SECRET-KEY-1')
  })

  it('the default <XDG_CONFIG_HOME>/sops/age/keys.txt, read even when other sources exist', async () => {
    const { part, entry } = await wrapped()
    const { dir, env } = await sandbox({ SOPS_AGE_KEY: MOCK_OTHER_IDENTITY })
    const file = path.join(dir, 'xdg', 'sops', 'age', 'keys.txt')
    expect(defaultAgeKeyFile(env)).toBe(file)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, `${identity}\n`)
    expect(await ageKeySource(recipient).unwrap(entry, { env })).toEqual(part)
  })

  it('explicit ctx.ageIdentities', async () => {
    const { part, entry } = await wrapped()
    const { env } = await sandbox()
    expect(await ageKeySource(recipient).unwrap(entry, { env, ageIdentities: [identity] })).toEqual(part)
  })

  it('decrypts sops\'s mockEncryptedKey with mockIdentity (to "data")', async () => {
    expect(await identityToRecipient(MOCK_IDENTITY)).toBe(MOCK_RECIPIENT)
    const { env } = await sandbox({ SOPS_AGE_KEY: MOCK_IDENTITY })
    const entry: KeyEntry = { type: 'age', fields: { recipient: MOCK_RECIPIENT, enc: MOCK_ENCRYPTED_KEY } }
    const out = await ageKeySource(MOCK_RECIPIENT).unwrap(entry, { env })
    expect(Buffer.from(out).toString()).toBe('data')
  })

  it('round-trips through mockRecipient / mockIdentity', async () => {
    const { part, entry } = await wrapped(randomBytes(32), MOCK_RECIPIENT)
    const { env } = await sandbox()
    expect(await ageKeySource(MOCK_RECIPIENT).unwrap(entry, { env, ageIdentities: [MOCK_IDENTITY] })).toEqual(part)
  })
})

describe('age unwrap: failures', () => {
  it('no identities anywhere: lists the locations, including the default path', async () => {
    const { entry } = await wrapped()
    const { env } = await sandbox()
    const reason = await reasonOf(ageKeySource(recipient).unwrap(entry, { env }))
    const ssh = path.join(env.HOME!, '.ssh')
    expect(reason).toBe(
      `failed to load age identities. Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', 'SOPS_AGE_SSH_PRIVATE_KEY_CMD', ` +
        `'${ssh}/id_ed25519', '${ssh}/id_rsa', 'SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_CMD', and '${defaultAgeKeyFile(env)}'.`,
    )
  })

  it('a cached loading failure still names the key that was asked', async () => {
    const { env } = await sandbox()
    const ctx: KeyContext = { env }
    const a = await wrapped()
    const b = await wrapped(randomBytes(32), MOCK_RECIPIENT)
    const errA = (await ageKeySource(recipient).unwrap(a.entry, ctx).catch((e: unknown) => e)) as KeyUnwrapError
    const errB = (await ageKeySource(MOCK_RECIPIENT).unwrap(b.entry, ctx).catch((e: unknown) => e)) as KeyUnwrapError
    expect([errA.keyId, errB.keyId]).toEqual([recipient, MOCK_RECIPIENT])
    expect(errB.reason).toBe(errA.reason)
  })

  it('no matching identity: sops\'s reason, and no identity text in the message', async () => {
    const { entry } = await wrapped()
    const { env } = await sandbox({ SOPS_AGE_KEY: MOCK_OTHER_IDENTITY })
    const err = (await ageKeySource(recipient).unwrap(entry, { env }).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err).toBeInstanceOf(KeyUnwrapError)
    const ssh = path.join(env.HOME!, '.ssh')
    const unused = `Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_FILE', 'SOPS_AGE_SSH_PRIVATE_KEY_CMD', '${ssh}/id_ed25519', '${ssh}/id_rsa', 'SOPS_AGE_KEY_FILE', and 'SOPS_AGE_KEY_CMD'.`
    expect(err.reason).toBe(
      `failed to create reader for decrypting sops data key with age: identity did not match any of the recipients: incorrect identity for recipient block. ${unused}`,
    )
    expect(err.message).toBe(`age key ${recipient}: ${err.reason}`)
    expect(err.message).not.toMatch(/AGE-SECRET-KEY/)
    // Two identities: age's other wording.
    const two = await sandbox({ SOPS_AGE_KEY: `${MOCK_OTHER_IDENTITY}\n${MOCK_IDENTITY}` })
    expect(await reasonOf(ageKeySource(recipient).unwrap(entry, { env: two.env }))).toMatch(/^failed to create reader for decrypting sops data key with age: no identity matched any of the recipients\. Did/)
  })

  it('a missing SOPS_AGE_KEY_FILE and a malformed key file are reported without their contents', async () => {
    const { entry } = await wrapped()
    const a = await sandbox({ SOPS_AGE_KEY_FILE: '/nonexistent/keys.txt' })
    expect(await reasonOf(ageKeySource(recipient).unwrap(entry, { env: a.env }))).toMatch(
      /^failed to load age identities\. Errors while loading age identities: failed to open SOPS_AGE_KEY_FILE file: open \/nonexistent\/keys.txt: no such file or directory\. Did not find keys/,
    )
    const b = await sandbox({ SOPS_AGE_KEY: `${identity}\nAGE-SECRET-KEY-1NOTVALIDLEAKME` })
    const reason = await reasonOf(ageKeySource(recipient).unwrap(entry, { env: b.env }))
    expect(reason).toMatch(/failed to parse 'SOPS_AGE_KEY' age identities: malformed secret key: invalid character data part: s\[1\]=111/)
    expect(reason).not.toMatch(/LEAKME|AGE-SECRET-KEY-1/)
    const c = await sandbox({ SOPS_AGE_KEY: 'not-a-key' })
    expect(await reasonOf(ageKeySource(recipient).unwrap(entry, { env: c.env }))).toMatch(
      /^failed to load age identities\. Errors while loading age identities: failed to parse 'SOPS_AGE_KEY' age identities: unknown identity type\. Did not find keys in locations/,
    )
  })

  it('a broken armor is a reason, not a crash', async () => {
    const { env } = await sandbox({ SOPS_AGE_KEY: identity })
    const entry: KeyEntry = { type: 'age', fields: { recipient, enc: '-----BEGIN AGE ENCRYPTED FILE-----\nxx\n' } }
    expect(await reasonOf(ageKeySource(recipient).unwrap(entry, { env }))).toMatch(
      /^failed to create reader for decrypting sops data key with age: failed to read header: parsing age header: failed to read intro: invalid armor: illegal base64 data at input byte 0\. Did not find/,
    )
  })
})

describe('formatAgeError (sops\'s formatError)', () => {
  it('joins the load errors with "; " and lists 1, 2 or more locations as sops does', () => {
    const f = (errors: string[], unused: string[]) => formatAgeError('m', undefined, { errors, unused })
    expect(f([], [])).toBe('m')
    expect(f(['e1', 'e2'], [])).toBe('m. Errors while loading age identities: e1; e2')
    expect(f([], ['A'])).toBe("m. Did not find keys in location 'A'.")
    expect(f([], ['A', 'B'])).toBe("m. Did not find keys in locations 'A' and 'B'.")
    expect(f([], ['A', 'B', 'C'])).toBe("m. Did not find keys in locations 'A', 'B', and 'C'.")
    expect(formatAgeError('m', 'why', { errors: ['e'], unused: ['A'] })).toBe("m: why. Errors while loading age identities: e. Did not find keys in location 'A'.")
  })
})

describe('parseIdentities', () => {
  it('skips blank lines and comments; plugin identities become plugin identities, checked as age checks them', () => {
    const plugin = 'AGE-PLUGIN-BATCHPASS-1JCS0Q9'
    const ids = parseIdentities(`\n# c\n${MOCK_IDENTITY}\r\n${plugin}\n`, 'test')
    expect(ids[0]!.identity).toBe(MOCK_IDENTITY)
    expect(typeof ids[1]!.identity).toBe('object')
    expect(() => parseIdentities('AGE-PLUGIN-YUBIKEY-1XYZ\n', 'test')).toThrow("failed to parse 'test' age identities: invalid identity encoding:")
    // Like sops, a line is one identity, untrimmed (only SOPS_AGE_KEY splits on white space).
    expect(() => parseIdentities(`  ${MOCK_IDENTITY}\n`, 'f')).toThrow("failed to parse 'f' age identities: unknown identity type")
    expect(parseIdentities(`  ${MOCK_IDENTITY}  ${MOCK_OTHER_IDENTITY}\n`, 'f', undefined, true)).toHaveLength(2)
  })
})

describe('defaultAgeKeyFile', () => {
  const join = path.join
  it('follows UserConfigDir per platform (sops honours XDG_CONFIG_HOME on macOS too)', () => {
    expect(defaultAgeKeyFile({ HOME: '/h' }, 'linux')).toBe(join('/h', '.config', 'sops', 'age', 'keys.txt'))
    expect(defaultAgeKeyFile({ HOME: '/h', XDG_CONFIG_HOME: '/x' }, 'linux')).toBe(join('/x', 'sops', 'age', 'keys.txt'))
    expect(defaultAgeKeyFile({ HOME: '/h' }, 'darwin')).toBe(join('/h', 'Library', 'Application Support', 'sops', 'age', 'keys.txt'))
    expect(defaultAgeKeyFile({ HOME: '/h', XDG_CONFIG_HOME: '/x' }, 'darwin')).toBe(join('/x', 'sops', 'age', 'keys.txt'))
    expect(defaultAgeKeyFile({ APPDATA: '/appdata' }, 'win32')).toBe(join('/appdata', 'sops', 'age', 'keys.txt'))
  })
})

describe('keygen', () => {
  it('creates an age-keygen style file (0600, dirs 0700) and never overwrites it', async () => {
    const { dir, env } = await sandbox()
    const first = await keygen(env, new Date('2024-05-06T07:08:09Z'))
    expect(first.created).toBe(true)
    expect(first.path).toBe(path.join(dir, 'xdg', 'sops', 'age', 'keys.txt'))
    const text = await readFile(first.path, 'utf8')
    expect(text).toMatch(
      /^# created: 2024-05-0\dT\d\d:\d\d:09(Z|[+-]\d\d:\d\d)\n# public key: age1[a-z0-9]{58}\nAGE-SECRET-KEY-1[A-Z0-9]{58}\n$/,
    )
    expect(text).toContain(`# public key: ${first.recipient}\n`)
    const idLine = text.trim().split('\n')[2]!
    expect(await identityToRecipient(idLine)).toBe(first.recipient)
    if (process.platform !== 'win32') {
      expect((await stat(first.path)).mode & 0o777).toBe(0o600)
      expect((await stat(path.dirname(first.path))).mode & 0o777).toBe(0o700)
    }

    const second = await keygen(env)
    expect(second).toEqual({ path: first.path, recipient: first.recipient, created: false })
    expect(await readFile(first.path, 'utf8')).toBe(text)
  })

  it('returns the first identity of an existing hand-written file untouched', async () => {
    const { env } = await sandbox()
    const file = defaultAgeKeyFile(env)
    await mkdir(path.dirname(file), { recursive: true })
    const text = `# mine\n${MOCK_IDENTITY}\n${MOCK_OTHER_IDENTITY}\n`
    await writeFile(file, text)
    expect(await keygen(env)).toEqual({ path: file, recipient: MOCK_RECIPIENT, created: false })
    expect(await readFile(file, 'utf8')).toBe(text)
  })

  it('an existing file whose first identity is a plugin identity, or malformed, is a clear error', async () => {
    const { env } = await sandbox()
    const file = defaultAgeKeyFile(env)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, 'AGE-PLUGIN-BATCHPASS-1JCS0Q9\n')
    await expect(keygen(env)).rejects.toThrow(`age key file ${file}: its first identity is a plugin identity, whose recipient tsops cannot derive`)
    await writeFile(file, 'garbage\n')
    await expect(keygen(env)).rejects.toThrow(`age key file ${file}: failed to parse '${file}' age identities: unknown identity type`)
  })
})

describe('shlexSplit', () => {
  it('splits like a POSIX shell without expansion', () => {
    expect(shlexSplit(`pass show  'sops/age key' "a \\"b\\" c" d\\ e`)).toEqual(['pass', 'show', 'sops/age key', 'a "b" c', 'd e'])
    expect(shlexSplit(`cmd '' x # comment`)).toEqual(['cmd', '', 'x'])
    expect(shlexSplit('a$HOME')).toEqual(['a$HOME'])
    expect(() => shlexSplit(`x 'unterminated`)).toThrow('EOF found when expecting closing quote') // google/shlex's words
    expect(() => shlexSplit('x \\')).toThrow('EOF found after escape character')
  })
})

describe('redact', () => {
  it('hides every identity form, and leaves plugin binary names readable', async () => {
    const { redact } = await import('../../src/keys/age-common.js')
    expect(redact(`x ${MOCK_IDENTITY} y`)).toBe('x [redacted age identity] y')
    expect(redact(MOCK_IDENTITY.toLowerCase())).toBe('[redacted age identity]')
    expect(redact('AGE-SECRET-KEY-PQ-1QQQQQQQQQQQQQQQQ')).toBe('[redacted age identity]')
    expect(redact('AGE-PLUGIN-BATCHPASS-1JCS0Q9')).toBe('[redacted age identity]')
    expect(redact('exec: "age-plugin-tag": executable file not found in $PATH')).toBe('exec: "age-plugin-tag": executable file not found in $PATH')
  })
})
