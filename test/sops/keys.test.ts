// Key types through real sops 3.13.2 and tsops-as-sops: age's failure texts (where sops looked
// for identities, what went wrong loading them, what age said about the file), then each key
// type end to end: encrypt → same masked layout → each side decrypts the other's file; decrypt of
// a file real sops wrote; and one failure each.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import path from 'node:path'
import { closedPortUrl, kmsEnv, startKmsServer, testKeyArn, type KmsServer } from '../helpers/servers/aws-kms.js'
import { VAULT_ROOT_TOKEN, startVaultServer, type VaultServer } from '../helpers/servers/vault.js'
import { startAzureKvServer, type AzureKvServer } from '../helpers/servers/azure-kv.js'
import { startGcpKmsServer, testResourceId, type GcpKmsServer } from '../helpers/servers/gcp-kms.js'
import { generateLoopbackCert, type LoopbackCert } from '../helpers/servers/tls-cert.js'
import { FIXTURE_KEYS, fixtureGpgHome, type GpgHome } from '../helpers/gpg.js'
import { baseEnv, cleanupTwins, crossDecrypt, expectSame, realAgeKey, realSops, run, twin, twinRoot, type AgeKey, type Side, type Twin } from './harness.js'

let key: AgeKey
let other: AgeKey
let third: AgeKey
/** a.yaml encrypted by real sops to `key`. */
let encYaml: Buffer

beforeAll(async () => {
  key = await realAgeKey()
  other = await realAgeKey()
  third = await realAgeKey()
  const dir = twinRoot()
  fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\nb: [x, y]\n')
  const r = await run(realSops(), ['encrypt', '--age', key.recipient, 'a.yaml'], { cwd: dir, env: baseEnv(dir) })
  if (r.code !== 0) throw new Error(r.stderr)
  encYaml = r.stdout
})
afterAll(cleanupTwins)

/** The armored `enc` of the age key in a sops YAML file, edited by `edit` (its lines, indentation removed). */
function editEnc(file: Buffer, edit: (lines: string[]) => string[]): string {
  const text = file.toString('utf8')
  const m = /(enc: \|\n)(( +)-----BEGIN[^]*?-----END AGE ENCRYPTED FILE-----\n)/.exec(text)
  if (!m) throw new Error('no age enc in the file')
  const indent = m[3]!
  const lines = m[2]!.split('\n').filter(Boolean).map((l) => l.slice(indent.length))
  const edited = edit(lines).map((l) => (l === '' ? '' : indent + l)).join('\n') + '\n'
  return text.replace(m[0], m[1] + edited)
}

/** Replace line `i` (0 = BEGIN) of the armor with `line`. */
const setLine = (i: number, line: string) => (lines: string[]) => lines.map((l, k) => (k === i ? line : l))

type DecryptCase = [label: string, env: () => Record<string, string | undefined>, files?: () => Record<string, string | Buffer>]

describe('age: why a decrypt fails, in sops\'s words', () => {
  const wrongKeyFile = () => ({ SOPS_AGE_KEY_FILE: other.file })
  const CASES: DecryptCase[] = [
    ['wrong key in SOPS_AGE_KEY_FILE', wrongKeyFile],
    ['no key at all', () => ({})],
    ['SOPS_AGE_KEY_FILE missing', () => ({ SOPS_AGE_KEY_FILE: '$DIR/nope.txt' })],
    ['SOPS_AGE_KEY_FILE set but empty', () => ({ SOPS_AGE_KEY_FILE: '' })],
    ['SOPS_AGE_KEY_FILE is a directory', () => ({ SOPS_AGE_KEY_FILE: '$DIR' })],
    ['SOPS_AGE_KEY wrong', () => ({ SOPS_AGE_KEY: fs.readFileSync(other.file, 'utf8') })],
    ['SOPS_AGE_KEY set but empty', () => ({ SOPS_AGE_KEY: '' })],
    ['two wrong identities', () => ({ SOPS_AGE_KEY: `${other.identity} ${third.identity}` })],
    ['a malformed identity', () => ({ SOPS_AGE_KEY: 'not-a-key' })],
    ['an identity with a bad checksum', () => ({ SOPS_AGE_KEY: key.identity.slice(0, -1) + (key.identity.endsWith('Q') ? 'P' : 'Q') })],
    ['an indented identity line in a key file', () => ({ SOPS_AGE_KEY_FILE: '$DIR/k.txt' }), () => ({ 'k.txt': `  ${key.identity}\n` })],
    ['a comment-only key file', () => ({ SOPS_AGE_KEY_FILE: '$DIR/k.txt' }), () => ({ 'k.txt': '# nothing here\n\n' })],
    ['SOPS_AGE_KEY_CMD fails', () => ({ SOPS_AGE_KEY_CMD: 'false' })],
    ['SOPS_AGE_KEY_CMD not found', () => ({ SOPS_AGE_KEY_CMD: 'no-such-command-here --x' })],
    ['SOPS_AGE_KEY_CMD prints a wrong key', () => ({ SOPS_AGE_KEY_CMD: `echo ${other.identity}` })],
    ['SOPS_AGE_KEY_CMD with an open quote', () => ({ SOPS_AGE_KEY_CMD: "echo 'x" })],
    ['a missing SSH key file and a wrong key', () => ({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: '$DIR/id', SOPS_AGE_KEY_FILE: other.file })],
    ['the default keys.txt holds a wrong key', () => ({}), () => ({ '../home/.config/sops/age/keys.txt': fs.readFileSync(other.file) })],
    ['XDG_CONFIG_HOME relative', () => ({ XDG_CONFIG_HOME: 'rel' })],
  ]
  it.each(CASES)('%s', async (label, env, files) => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': encYaml, ...(files?.() ?? {}) }, env: env() })
    expectSame(t, {}, `age: ${label}`)
  })

  it('two recipients, no key: one block per key, a "  " line between them', async () => {
    const t = await twin(['decrypt', 'e.yaml'], {
      prepare: async (dir) => {
        fs.writeFileSync(path.join(dir, 'p.yaml'), 'a: 1\n')
        const r = await run(realSops(), ['encrypt', '--age', `${key.recipient},${other.recipient}`, '--output', 'e.yaml', 'p.yaml'], { cwd: dir, env: baseEnv(dir) })
        if (r.code !== 0) throw new Error(r.stderr)
        fs.rmSync(path.join(dir, 'p.yaml'))
      },
    })
    expectSame({ ...t, real: { ...t.real, files: {} }, ours: { ...t.ours, files: {} } }, {}, 'age: two recipients, no key')
  })

  it('the right key in the default keys.txt decrypts (and real sops reads tsops\'s file)', async () => {
    const root = twinRoot()
    fs.mkdirSync(path.join(root, 'home/.config/sops/age'), { recursive: true })
    fs.copyFileSync(key.file, path.join(root, 'home/.config/sops/age/keys.txt'))
    const t = await twin(['encrypt', '--age', key.recipient, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' } }, root)
    expectSame(t, { encryptedFiles: true }, 'age: encrypt for decrypt via keys.txt')
    await crossDecrypt(t, 'e.yaml', [], Buffer.from('a: 1\n'))
  })
})

describe('age: a damaged enc, in age\'s words', () => {
  const CASES: [label: string, edit: (lines: string[]) => string[]][] = [
    ['intro garbled', (lines) => setLine(1, 'AAAAAAAA' + lines[1]!.slice(8))(lines)],
    ['a stanza line garbled', (lines) => setLine(2, lines[2]!.slice(0, 20) + 'AAAAAAAAAAAAAAAAAAAA' + lines[2]!.slice(40))(lines)],
    ['a character outside base64', (lines) => setLine(2, '*' + lines[2]!.slice(1))(lines)],
    ['the last line of base64 missing', (lines) => lines.filter((_, i) => i !== lines.length - 2)],
    ['the END line missing', (lines) => lines.slice(0, -1)],
    ['the BEGIN line wrong', (lines) => setLine(0, '-----BEGIN AGE FILE-----')(lines)],
    ['an empty line inside', (lines) => [lines[0]!, lines[1]!, '', ...lines.slice(2)]],
    ['a line too long', (lines) => setLine(1, lines[1]! + 'AAAA')(lines)],
    ['only the armor frame', (lines) => [lines[0]!, lines.at(-1)!]],
  ]
  it.each(CASES)('%s', async (label, edit) => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': editEnc(encYaml, edit) }, env: { SOPS_AGE_KEY_FILE: key.file } })
    expectSame(t, {}, `age enc: ${label}`)
  })

  it('the same damage with no key at all: the identities fail first', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': editEnc(encYaml, setLine(1, 'AAAAAAAA' + 'x'.repeat(56))) } })
    expectSame(t, {}, 'age enc: damaged, no key')
  })
})

describe('age: recipients sops refuses before making a data key', () => {
  const CASES: [label: string, recipients: string][] = [
    ['not bech32', 'age1notvalid'],
    ['unknown type', 'bogus'],
    ['bad checksum', 'AGE_LAST_CHAR_CHANGED'],
    ['mixed case', 'AGE_MIXED_CASE'],
    ['too short', 'age1qqqqqqqqqqqqqqqq'],
    ['one good, one bad', 'AGE,age1zzz'],
    ['a bad plugin name', 'age1a*b1qqqqqqqqqqq'],
    // MasterKeysFromRecipients splits on every comma: an empty item is an unknown recipient "".
    ['an empty item', 'AGE,,OTHER'],
    ['a trailing comma', 'AGE,'],
    ['only a comma', ','],
    ['blank items', ' , '],
  ]
  const resolve = (s: string) =>
    s
      .replace('AGE_LAST_CHAR_CHANGED', key.recipient.slice(0, -1) + (key.recipient.endsWith('q') ? 'p' : 'q'))
      .replace('AGE_MIXED_CASE', 'AGE1' + key.recipient.slice(4))
      .replaceAll(/AGE(?![_1])/g, key.recipient)
      .replace('OTHER', other.recipient)
  it.each(CASES)('--age %s', async (label, recipients) => {
    const t = await twin(['encrypt', '--age', resolve(recipients), 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' } })
    expectSame(t, { encryptedStdout: true }, `age recipient --age: ${label}`)
  })
  it('SOPS_AGE_RECIPIENTS with a bad recipient', async () => {
    const t = await twin(['encrypt', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: { SOPS_AGE_RECIPIENTS: 'age1notvalid' } })
    expectSame(t, {}, 'age recipient: SOPS_AGE_RECIPIENTS')
  })
  it('a bad recipient in .sops.yaml', async () => {
    const t = await twin(['encrypt', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n', '.sops.yaml': 'creation_rules:\n  - age: age1notvalid\n' } })
    expectSame(t, {}, 'age recipient: .sops.yaml')
  })
  it('decrypt does not read the recipients of .sops.yaml', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': encYaml, '.sops.yaml': 'creation_rules:\n  - age: age1notvalid\n' }, env: { SOPS_AGE_KEY_FILE: key.file } })
    expectSame(t, {}, 'age recipient: decrypt with a bad recipient in .sops.yaml')
  })

  it('SOPS_AGE_RECIPIENTS with an empty item', async () => {
    const t = await twin(['encrypt', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: { SOPS_AGE_RECIPIENTS: `${key.recipient},,${other.recipient}` } })
    expectSame(t, {}, 'age recipient: SOPS_AGE_RECIPIENTS a,,b')
  })

  it.each([
    // A flat string drops its empty items (parseKeyField's trailing-comma fix): both encrypt.
    ['a flat string', (a: string, b: string) => `age: "${a},,${b},"`, true],
    // A flat list is joined with commas and split again: the empty item is refused.
    ['a flat list with an empty item', (a: string, b: string) => `age: ["${a}", "", "${b}"]`, false],
    ['a flat list item with ,,', (a: string, b: string) => `age: ["${a},,${b}"]`, false],
    // Each key_groups item is split on its own: an empty item is no key, an inner empty one refused.
    ['a key_groups item with ,,', (a: string, b: string) => `key_groups: [{age: ["${a},,${b}"]}]`, false],
    ['an empty key_groups item', (a: string, b: string) => `key_groups: [{age: ["${a}", "", "${b}"]}]`, true],
  ])('.sops.yaml: %s', async (label, rule, encrypts) => {
    const config = `creation_rules:\n  - ${rule(key.recipient, other.recipient)}\n`
    const t = await twin(['encrypt', '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n', '.sops.yaml': config } })
    expectSame(t, { encryptedFiles: true }, `age recipient: .sops.yaml ${label}`)
    expect(t.ours.code).toBe(encrypts ? 0 : 1)
  })

  it('rotate --add-age with an empty item', async () => {
    const t = await twin(['rotate', '--add-age', `${other.recipient},`, 'e.yaml'], { files: { 'e.yaml': encYaml }, env: { SOPS_AGE_KEY_FILE: key.file } })
    expectSame(t, {}, 'age recipient: rotate --add-age a,')
  })

  it.each([
    ['a bad recipient', 'bogus'],
    ['an empty item', ','],
  ])('rotate --rm-age with %s: refused as sops refuses it', async (label, spec) => {
    const t = await twin(['rotate', '--rm-age', spec, 'e.yaml'], { files: { 'e.yaml': encYaml }, env: { SOPS_AGE_KEY_FILE: key.file } })
    expectSame(t, {}, `age recipient: rotate --rm-age ${label}`)
    expect(t.ours.code).toBe(1)
  })

  it('rotate --add-age with a bad recipient', async () => {
    const t = await twin(['rotate', '--add-age', 'bogus', 'e.yaml'], { files: { 'e.yaml': encYaml }, env: { SOPS_AGE_KEY_FILE: key.file } })
    expectSame(t, {}, 'age recipient: rotate --add-age')
  })
})

/** A PGP message's length varies from run to run (compression, MPI sizes): compare it as one token. */
function maskPgp(t: Twin): Twin {
  const mask = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/-----BEGIN PGP MESSAGE-----[^]*?-----END PGP MESSAGE-----/g, '<pgp message>'), 'latin1')
  const side = (s: Side): Side => ({ ...s, stdout: mask(s.stdout), files: Object.fromEntries(Object.entries(s.files).map(([k, v]) => [k, mask(v)])) })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

/** A fresh GnuPG home in each twin dir ($DIR/gnupg): gpg's first-run notices then read the same on both sides. */
const freshGpgHome = (dir: string) => fs.mkdirSync(path.join(dir, 'gnupg'), { mode: 0o700 })
/** Stop the agents gpg started in those homes, and leave the homes (keyring timestamps) out of the comparison. */
async function withoutGpgHomes(t: Twin): Promise<Twin> {
  for (const s of [t.real, t.ours]) await run('gpgconf', ['--kill', 'gpg-agent'], { cwd: s.dir, env: baseEnv(s.dir, { GNUPGHOME: path.join(s.dir, 'gnupg') }) })
  const side = (s: Side): Side => ({ ...s, files: Object.fromEntries(Object.entries(s.files).filter(([k]) => !k.startsWith('gnupg/'))) })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

describe('pgp (gpg, sops\'s functional-test keys)', () => {
  let gpg: GpgHome
  /** a.yaml encrypted by real sops to fixture key 1. */
  let pgpYaml: Buffer
  beforeAll(async () => {
    gpg = await fixtureGpgHome()
    const dir = twinRoot()
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\n')
    const r = await run(realSops(), ['encrypt', '--pgp', FIXTURE_KEYS.key1, 'a.yaml'], { cwd: dir, env: baseEnv(dir, { GNUPGHOME: gpg.home }) })
    if (r.code !== 0) throw new Error(r.stderr)
    pgpYaml = r.stdout
  }, 120_000)
  afterAll(async () => {
    await gpg?.cleanup()
  })

  it('encrypt with --pgp: the same layout, and each side decrypts the other\'s file', async () => {
    const t = await twin(['encrypt', '--pgp', FIXTURE_KEYS.key1, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: { GNUPGHOME: gpg.home } })
    expectSame(maskPgp(t), { encryptedFiles: true }, 'pgp: encrypt')
    await crossDecrypt(t, 'e.yaml', [], Buffer.from('a: 1\nb:\n    - x\n    - "y"\n'))
  })

  it('a .sops.yaml pgp rule with two keys (json)', async () => {
    const config = `creation_rules:\n  - pgp: ${FIXTURE_KEYS.key1},${FIXTURE_KEYS.key2}\n`
    const t = await twin(['encrypt', '--output', 'e.json', 'p.json'], { files: { 'p.json': '{"a": 1}\n', '.sops.yaml': config }, env: { GNUPGHOME: gpg.home } })
    expectSame(maskPgp(t), { encryptedFiles: true }, 'pgp: encrypt from .sops.yaml')
    await crossDecrypt(t, 'e.json')
  })

  it('decrypt a file real sops wrote', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': pgpYaml }, env: { GNUPGHOME: gpg.home } })
    expectSame(t, {}, 'pgp: decrypt')
  })

  it('decrypt without the secret key (an empty GnuPG home)', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': pgpYaml }, env: { GNUPGHOME: '$DIR/gnupg' }, prepare: freshGpgHome })
    expectSame(await withoutGpgHomes(t), {}, 'pgp: no secret key')
  })

  it.each([
    // MasterKeysFromFingerprintString keeps an empty item: a key "" that fails to wrap.
    ['--pgp a,,b', (a: string, b: string) => ['--pgp', `${a},,${b}`], ''],
    ['--pgp a,', (a: string) => ['--pgp', `${a},`], ''],
    ['.sops.yaml pgp list with ""', () => [], `  - pgp: ["${FIXTURE_KEYS.key1}", ""]\n`],
    ['.sops.yaml key_groups pgp item ""', () => [], `  - key_groups: [{pgp: ["", "${FIXTURE_KEYS.key1}"]}]\n`],
  ])('an empty fingerprint: %s', async (label, flags, rules) => {
    const files: Record<string, string> = { 'p.yaml': 'a: 1\n' }
    if (rules) files['.sops.yaml'] = `creation_rules:\n${rules}`
    const t = await twin(['encrypt', ...flags(FIXTURE_KEYS.key1, FIXTURE_KEYS.key2), 'p.yaml'], { files, env: { GNUPGHOME: gpg.home } })
    expectSame(t, {}, `pgp: empty fingerprint, ${label}`)
    expect(t.ours.stderr).toContain('failed to encrypt new data key with master key "": ')
  })

  it('encrypt to a fingerprint gpg does not know', async () => {
    const t = await twin(['encrypt', '--pgp', '0000000000000000000000000000000000000000', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: { GNUPGHOME: gpg.home } })
    expectSame(t, {}, 'pgp: unknown key')
  })
})

/** AWS request ids are random: the same placeholder on both sides (the wrapping does not change: they are all 36 long). */
function maskRequestIds(t: Twin): Twin {
  const side = (s: Side): Side => ({ ...s, stderr: s.stderr.replace(/RequestID: [0-9a-f-]{36}/g, 'RequestID: <id>') })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

describe('aws kms (loopback KMS)', () => {
  let kms: KmsServer
  const ARN = testKeyArn('0b8a5f7e-tsops-diff', 'eu-central-1')
  let kmsYaml: Buffer
  const env = () => kmsEnv(kms, { AWS_REGION: 'eu-central-1' })
  beforeAll(async () => {
    kms = await startKmsServer()
    const dir = twinRoot()
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\n')
    const r = await run(realSops(), ['encrypt', '--kms', ARN, 'a.yaml'], { cwd: dir, env: baseEnv(dir, env()) })
    if (r.code !== 0) throw new Error(r.stderr)
    kmsYaml = r.stdout
  })
  afterAll(() => kms?.close())
  afterEach(() => {
    kms.state.authorize = () => true
  })

  it('encrypt with --kms: the same layout, and each side decrypts the other\'s file', async () => {
    const t = await twin(['encrypt', '--kms', ARN, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'kms: encrypt')
    await crossDecrypt(t, 'e.yaml')
  })

  it('encrypt with an encryption context (json)', async () => {
    const t = await twin(['encrypt', '--kms', ARN, '--encryption-context', 'app:web,env:prod', '--output', 'e.json', 'p.json'], { files: { 'p.json': '{"a": 1}\n' }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'kms: encrypt with context')
    await crossDecrypt(t, 'e.json')
  })

  it.each([
    ['--kms a,', () => ['--kms', `${ARN},`], ''],
    ['.sops.yaml kms list with ""', () => [], `  - kms: ["${ARN}", ""]\n`],
  ])('an empty ARN (a key that fails to wrap): %s', async (label, flags, rules) => {
    const files: Record<string, string> = { 'p.yaml': 'a: 1\n' }
    if (rules) files['.sops.yaml'] = `creation_rules:\n${rules}`
    const t = await twin(['encrypt', ...flags(), 'p.yaml'], { files, env: env() })
    expectSame(t, {}, `kms: empty ARN, ${label}`)
    expect(t.ours.stderr).toContain(`failed to encrypt new data key with master key "": no valid ARN found in ''`)
  })

  it('decrypt a file real sops wrote', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': kmsYaml }, env: env() })
    expectSame(t, {}, 'kms: decrypt')
  })

  it('decrypt when KMS denies access', async () => {
    kms.state.authorize = (_principal, action) => action !== 'Decrypt'
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': kmsYaml }, env: env() })
    expectSame(maskRequestIds(t), {}, 'kms: decrypt denied')
  })

  it('encrypt when KMS denies access', async () => {
    kms.state.authorize = () => false
    const t = await twin(['encrypt', '--kms', ARN, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(maskRequestIds(t), {}, 'kms: encrypt denied')
  })

  it('decrypt when KMS is unreachable', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': kmsYaml }, env: { ...env(), AWS_ENDPOINT_URL_KMS: await closedPortUrl() } })
    expectSame(t, {}, 'kms: unreachable')
  })

  it('a role that cannot be assumed (encrypt)', async () => {
    const t = await twin(['encrypt', '--kms', `${ARN}+arn:aws:iam::111122223333:role/denied-role`, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(maskRequestIds(t), {}, 'kms: role denied')
  })

  it('encrypt and decrypt through a role (+role)', async () => {
    const t = await twin(['encrypt', '--kms', `${ARN}+arn:aws:iam::111122223333:role/sops`, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'kms: encrypt with a role')
    await crossDecrypt(t, 'e.yaml')
  })

  it('decrypt denied for a key with a role and a context: sops names it arn+role|context', async () => {
    const t = await twin(['decrypt', 'e.yaml'], {
      env: env(),
      prepare: async (dir) => {
        const args = ['encrypt', '--kms', `${ARN}+arn:aws:iam::111122223333:role/sops`, '--encryption-context', 'z:1,a:2', '--output', 'e.yaml', 'p.yaml']
        fs.writeFileSync(path.join(dir, 'p.yaml'), 'a: 1\n')
        const r = await run(realSops(), args, { cwd: dir, env: baseEnv(dir, env()) })
        if (r.code !== 0) throw new Error(r.stderr)
        fs.rmSync(path.join(dir, 'p.yaml'))
        kms.state.authorize = (_principal, action) => action !== 'Decrypt'
      },
    })
    const { files: _r, ...real } = t.real
    const { files: _o, ...ours } = t.ours
    expectSame(maskRequestIds({ ...t, real: { ...real, files: {} }, ours: { ...ours, files: {} } }), {}, 'kms: decrypt denied, role and context')
  })

  it('a key id that is not an ARN', async () => {
    const t = await twin(['encrypt', '--kms', 'not-an-arn', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, 'kms: not an ARN')
  })

  it('an enc that is not base64', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': kmsYaml.toString().replace(/enc: \S{10}/, 'enc: not!base64') }, env: env() })
    expectSame(t, {}, 'kms: enc not base64')
  })

  it('decrypt with a wrong secret key', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': kmsYaml }, env: { ...env(), AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' } })
    expectSame(maskRequestIds(t), {}, 'kms: bad signature')
  })
})

describe('vault transit (loopback Vault)', () => {
  let vault: VaultServer
  let uri: string
  let vaultYaml: Buffer
  const env = (extra: Record<string, string | undefined> = {}) => ({ VAULT_ADDR: vault.url, VAULT_TOKEN: VAULT_ROOT_TOKEN, ...extra })
  beforeAll(async () => {
    vault = await startVaultServer()
    vault.mount('sops', ['firstkey'])
    uri = `${vault.url}/v1/sops/keys/firstkey`
    const dir = twinRoot()
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\n')
    const r = await run(realSops(), ['encrypt', '--hc-vault-transit', uri, 'a.yaml'], { cwd: dir, env: baseEnv(dir, env()) })
    if (r.code !== 0) throw new Error(r.stderr)
    vaultYaml = r.stdout
  })
  afterAll(() => vault?.close())

  it('encrypt with --hc-vault-transit: the same layout, and each side decrypts the other\'s file', async () => {
    const t = await twin(['encrypt', '--hc-vault-transit', uri, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'vault: encrypt')
    await crossDecrypt(t, 'e.yaml')
  })

  it('decrypt a file real sops wrote', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': vaultYaml }, env: env() })
    expectSame(t, {}, 'vault: decrypt')
  })

  it('decrypt with a token Vault refuses', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': vaultYaml }, env: env({ VAULT_TOKEN: 'hvs.not-a-token' }) })
    expectSame(t, {}, 'vault: decrypt permission denied')
  })

  it('encrypt with a token Vault refuses', async () => {
    const t = await twin(['encrypt', '--hc-vault-transit', uri, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env({ VAULT_TOKEN: 'hvs.not-a-token' }) })
    expectSame(t, {}, 'vault: encrypt permission denied')
  })

  it('decrypt when Vault is unreachable', async () => {
    const closed = await closedPortUrl()
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': vaultYaml.toString().replaceAll(vault.url, closed) }, env: env({ VAULT_ADDR: closed }) })
    expectSame(t, {}, 'vault: unreachable')
  })

  it('encrypt to a key the engine makes on first use (transit upserts)', async () => {
    const t = await twin(['encrypt', '--hc-vault-transit', `${vault.url}/v1/sops/keys/newkey`, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, { encryptedStdout: true }, 'vault: new key')
  })

  it('decrypt with a token whose policy does not reach the key', async () => {
    vault.tokens.set('hvs.encrypt-only', { paths: ['sops/encrypt/'] })
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': vaultYaml }, env: env({ VAULT_TOKEN: 'hvs.encrypt-only' }) })
    expectSame(t, {}, 'vault: policy denies decrypt')
  })

  it('an address the allow list does not allow', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': vaultYaml }, env: env({ SOPS_HC_VAULT_ALLOWLIST: 'https://vault.example.com' }) })
    expectSame(t, {}, 'vault: not in the allow list')
  })

  it('a transit URI with a proxy prefix', async () => {
    const t = await twin(['encrypt', '--hc-vault-transit', `${vault.url}/proxy/v1/sops/keys/firstkey`, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, 'vault: prefixed uri')
  })

  it('a transit URI sops cannot parse', async () => {
    const t = await twin(['encrypt', '--hc-vault-transit', `${vault.url}/sops/firstkey`, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, 'vault: bad uri')
  })

  it('no token at all', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': vaultYaml }, env: env({ VAULT_TOKEN: undefined }) })
    expectSame(t, {}, 'vault: no token')
  })
})

/**
 * A TLS front for a plaintext loopback service: real sops speaks TLS to SOPS_GCP_KMS_ENDPOINT
 * whatever the host (against the plaintext emulator its gRPC client retries the handshake until
 * killed, and REST says `http: server gave HTTP response to HTTPS client`), while tsops speaks
 * plaintext to a loopback endpoint. The front decrypts and passes the bytes on.
 */
async function tlsFront(target: string, cert: LoopbackCert, alpn: string[]): Promise<{ endpoint: string; close(): Promise<void> }> {
  const [host, port] = target.split(':') as [string, string]
  const sockets = new Set<net.Socket>()
  const server = tls.createServer({ cert: cert.cert, key: cert.key, ALPNProtocols: alpn }, (socket) => {
    const upstream = net.connect(Number(port), host)
    sockets.add(socket).add(upstream)
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('gcp kms (loopback Cloud KMS; real sops through a TLS front)', () => {
  let gcp: GcpKmsServer
  let cert: LoopbackCert
  const fronts: Record<'grpc' | 'rest', { endpoint: string; close(): Promise<void> } | undefined> = { grpc: undefined, rest: undefined }
  const KEY = testResourceId()
  let gcpYaml: Buffer
  const toolEnv = (transport: 'grpc' | 'rest') => ({
    real: { SOPS_GCP_KMS_ENDPOINT: fronts[transport]!.endpoint, SSL_CERT_FILE: cert.caPath },
    ours: { SOPS_GCP_KMS_ENDPOINT: transport === 'rest' ? gcp.restEndpoint : gcp.grpcEndpoint },
  })
  const env = (transport: 'grpc' | 'rest', extra: Record<string, string | undefined> = {}) => ({
    GOOGLE_OAUTH_ACCESS_TOKEN: gcp.token,
    ...(transport === 'rest' ? { SOPS_GCP_KMS_CLIENT_TYPE: 'rest' } : {}),
    ...extra,
  })
  beforeAll(async () => {
    gcp = await startGcpKmsServer()
    cert = generateLoopbackCert()
    fronts.grpc = await tlsFront(gcp.grpcEndpoint, cert, ['h2'])
    fronts.rest = await tlsFront(gcp.restEndpoint, cert, ['http/1.1'])
    const dir = twinRoot()
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\n')
    const r = await run(realSops(), ['encrypt', '--gcp-kms', KEY, 'a.yaml'], { cwd: dir, env: baseEnv(dir, { ...env('grpc'), ...toolEnv('grpc').real }), timeoutMs: 30_000 })
    if (r.code !== 0) throw new Error(`real sops could not encrypt with GCP KMS (exit ${r.code}): ${r.stderr}`)
    gcpYaml = r.stdout
  })
  afterAll(async () => {
    await fronts.grpc?.close()
    await fronts.rest?.close()
    await gcp?.close()
    cert?.cleanup()
  })

  for (const transport of ['grpc', 'rest'] as const) {
    it(`${transport}: encrypt with --gcp-kms, the same layout, and each side decrypts the other's file`, async () => {
      const t = await twin(['encrypt', '--gcp-kms', KEY, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: env(transport), toolEnv: toolEnv(transport) })
      expectSame(t, { encryptedFiles: true }, `gcp ${transport}: encrypt`)
      await crossDecrypt(t, 'e.yaml')
    })

    it(`${transport}: decrypt a file real sops wrote`, async () => {
      const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': gcpYaml }, env: env(transport), toolEnv: toolEnv(transport) })
      expectSame(t, {}, `gcp ${transport}: decrypt`)
    })

    it(`${transport}: decrypt when the key is denied`, async () => {
      gcp.deny(KEY)
      try {
        const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': gcpYaml }, env: env(transport), toolEnv: toolEnv(transport) })
        expectSame(t, {}, `gcp ${transport}: denied`)
      } finally {
        gcp.deny(KEY, false)
      }
    })

    it(`${transport}: encrypt to a key that does not exist`, async () => {
      const t = await twin(['encrypt', '--gcp-kms', testResourceId('no-such-key'), 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env(transport), toolEnv: toolEnv(transport) })
      expectSame(t, {}, `gcp ${transport}: not found`)
    })

    it(`${transport}: decrypt with a token the server refuses`, async () => {
      const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': gcpYaml }, env: env(transport, { GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.wrong' }), toolEnv: toolEnv(transport) })
      expectSame(t, {}, `gcp ${transport}: unauthenticated`)
    })
  }
})

/** Azure's enc is base64url, which the harness's mask does not cover: one token, like the others. */
function maskAzureEnc(t: Twin): Twin {
  const mask = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/(enc: )[A-Za-z0-9_-]{20,}/g, '$1<azure enc>'), 'latin1')
  const side = (s: Side): Side => ({ ...s, files: Object.fromEntries(Object.entries(s.files).map(([k, v]) => [k, mask(v)])) })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

describe('azure key vault (loopback Key Vault over TLS)', () => {
  let az: AzureKvServer
  let keyUrl: string
  let azYaml: Buffer | undefined
  // A login both SDKs accept here: an App Service managed identity served by the loopback. (A
  // service principal, AZURE_CLIENT_SECRET, cannot be used with real sops: Go's azidentity first
  // asks login.microsoftonline.com for instance discovery, which fails offline.)
  const env = (extra: Record<string, string | undefined> = {}) => ({ ...az.managedIdentityEnv(), SSL_CERT_FILE: az.cert.caPath, NODE_EXTRA_CA_CERTS: az.cert.caPath, ...extra })
  beforeAll(async () => {
    az = await startAzureKvServer({ resource: 'suffix' })
    az.addKey('sops-key')
    keyUrl = az.keyUrl('sops-key')
    const dir = twinRoot()
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\n')
    const r = await run(realSops(), ['encrypt', '--azure-kv', keyUrl, 'a.yaml'], { cwd: dir, env: baseEnv(dir, env()), timeoutMs: 30_000 })
    if (r.code !== 0) throw new Error(`real sops could not encrypt with Azure Key Vault (exit ${r.code}): ${r.stderr}`)
    azYaml = r.stdout
  })
  afterAll(() => az?.close())

  it('encrypt with --azure-kv: the same layout, and each side decrypts the other\'s file', async () => {
    const t = await twin(['encrypt', '--azure-kv', keyUrl, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: env() })
    expectSame(maskAzureEnc(t), { encryptedFiles: true }, 'azure: encrypt')
    await crossDecrypt(t, 'e.yaml')
  })

  it('decrypt a file real sops wrote', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': azYaml! }, env: env() })
    expectSame(t, {}, 'azure: decrypt')
  })

  it('decrypt when Key Vault denies access', async () => {
    az.deny('sops-key')
    try {
      const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': azYaml! }, env: env() })
      expectSame(t, {}, 'azure: denied')
    } finally {
      az.deny('sops-key', false)
    }
  })

  it('encrypt to a key the vault does not have: sops\'s words, inside the data key error (documented difference)', async () => {
    const url = az.keyUrl('no-such-key')
    const t = await twin(['encrypt', '--azure-kv', url, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    // sops fetches a key's latest version while it reads the flag, so the failure is printed
    // alone; tsops fetches it when it wraps the data key, so the same text comes inside sops's
    // "Could not generate data key" (key sources get no credentials before that).
    expect(t.real.stderr).toMatch(/^failed to fetch Azure Key to retrieve key version: GET /)
    expect(t.ours.stderr).toBe(`Could not generate data key: [failed to encrypt new data key with master key "${url}/": ${t.real.stderr.slice(0, -1)}]\n`)
    expect(t.ours.code).toBe(t.real.code)
  })

  it.each([
    ['not a key URL', () => 'https://v.vault.azure.net/secrets/k'],
    // MasterKeysFromURLs keeps an empty item, which NewMasterKeyFromURL cannot parse.
    ['an empty item', () => `${az.keyUrl('sops-key')},`],
  ])('--azure-kv %s: refused before any key is asked', async (label, url) => {
    const t = await twin(['encrypt', '--azure-kv', url(), 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, `azure: --azure-kv ${label}`)
    expect(t.ours.code).toBe(1)
  })

  it('decrypt with a key version the vault does not have', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': azYaml!.toString().replace(/version: \S+/, 'version: 00000000000000000000000000000000') }, env: env() })
    expectSame(t, {}, 'azure: unknown version')
  })
})
