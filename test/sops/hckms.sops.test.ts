// HuaweiCloud KMS through real sops 3.13.2 and tsops-as-sops against the same loopback KMS
// (test/helpers/servers/hckms.ts), which checks each request's SDK-HMAC-SHA256 signature. One
// environment points both tools at it: HUAWEICLOUD_SDK_REGION_KMS_TR_WEST_1 (the Go SDK's
// region override) plus the test AK/SK/project id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { closedPortUrl } from '../helpers/servers/aws-kms.js'
import { regionEnvName, startHckmsServer, type HckmsServer } from '../helpers/servers/hckms.js'
import { generateLoopbackCert, type LoopbackCert } from '../helpers/servers/tls-cert.js'
import { baseEnv, cleanupTwins, crossDecrypt, expectDocumentedDifference, expectSame, realSops, run, twin, twinRoot } from './harness.js'

let kms: HckmsServer
let keyId: string
/** a.yaml encrypted by real sops to `keyId`. */
let sopsYaml: Buffer
const env = (extra: Record<string, string | undefined> = {}) => ({ ...kms.env(), ...extra })

beforeAll(async () => {
  kms = await startHckmsServer()
  keyId = kms.keyId(kms.createKey())
  const dir = twinRoot()
  fs.writeFileSync(path.join(dir, 'a.yaml'), 'a: 1\nb: [x, y]\n')
  const r = await run(realSops(), ['encrypt', '--hckms', keyId, 'a.yaml'], { cwd: dir, env: baseEnv(dir, env()) })
  if (r.code !== 0) throw new Error(`real sops could not encrypt with the loopback HuaweiCloud KMS (exit ${r.code}): ${r.stderr}`)
  sopsYaml = r.stdout
  // Real sops's own requests passed the server's signature check.
  expect(kms.log.map((l) => l.status)).toEqual([200])
})
afterAll(async () => {
  cleanupTwins()
  await kms?.close()
})

describe('hckms round trips (both tools, one server)', () => {
  it('encrypt with --hckms: the same layout, and each side decrypts the other\'s file', async () => {
    const t = await twin(['encrypt', '--hckms', keyId, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'hckms: encrypt')
    await crossDecrypt(t, 'e.yaml', [], Buffer.from('a: 1\nb:\n    - x\n    - "y"\n'))
  })

  it('decrypt a file real sops wrote', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': sopsYaml }, env: env() })
    expectSame(t, {}, 'hckms: decrypt')
    expect(t.ours.stdout.toString()).toBe('a: 1\nb:\n    - x\n    - "y"\n')
  })

  it('keys from SOPS_HUAWEICLOUD_KMS_IDS, and from .sops.yaml (flat rule and key_groups)', async () => {
    const viaEnv = await twin(['encrypt', '--output', 'e.json', 'p.json'], { files: { 'p.json': '{"a": "b"}' }, env: env({ SOPS_HUAWEICLOUD_KMS_IDS: ` ${keyId} ` }) })
    expectSame(viaEnv, { encryptedFiles: true }, 'hckms: SOPS_HUAWEICLOUD_KMS_IDS')
    await crossDecrypt(viaEnv, 'e.json')
    const config = `creation_rules:\n  - path_regex: flat\n    hckms: ["${keyId}"]\n  - path_regex: groups\n    key_groups:\n      - hckms:\n          - key_id: "${keyId}"\n`
    for (const name of ['flat.yaml', 'groups.yaml']) {
      const t = await twin(['encrypt', '--output', `e-${name}`, name], { files: { '.sops.yaml': config, [name]: 'x: y\n' }, env: env() })
      expectSame(t, { encryptedFiles: true }, `hckms: .sops.yaml ${name}`)
      await crossDecrypt(t, `e-${name}`)
    }
  })

  it('rotate --add-hckms: a second key, the same layout, each side decrypts the other\'s file', async () => {
    const other = kms.keyId(kms.createKey())
    const t = await twin(['rotate', '--in-place', '--add-hckms', other, 'e.yaml'], { files: { 'e.yaml': sopsYaml }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'hckms: rotate --add-hckms')
    await crossDecrypt(t, 'e.yaml')
  })
  it('updatekeys to a .sops.yaml that names another hckms key', async () => {
    const other = kms.keyId(kms.createKey())
    const config = `creation_rules:\n  - hckms: ["${other}"]\n`
    const updated = await twin(['updatekeys', '--yes', 'e.yaml'], { files: { '.sops.yaml': config, 'e.yaml': sopsYaml }, env: env() })
    expectSame(updated, { encryptedFiles: true }, 'hckms: updatekeys')
    await crossDecrypt(updated, 'e.yaml')
    expect(updated.ours.files['e.yaml']!.toString()).toContain(`key_id: ${other}`)
    expect(updated.ours.files['e.yaml']!.toString()).not.toContain(`key_id: ${keyId}`)
  })

  it('groups add --hckms: tsops adds the key; sops 3.13.2 ignores the flag and adds an empty group', async () => {
    const other = kms.keyId(kms.createKey())
    const t = await twin(['groups', 'add', '--file', 'e.yaml', '--hckms', other], { files: { 'e.yaml': sopsYaml }, env: env() })
    expectDocumentedDifference(t, { sopsStderr: /^$/, tsopsStderr: /^$/ }, 'hckms: groups add --hckms (sops leaves the new group empty)')
    expect(t.real.stdout.toString()).not.toContain(other)
    expect(t.ours.stdout.toString()).toContain(`key_id: ${other}`)
    // The two groups (threshold 2) need both keys: real sops reads tsops's file.
    fs.writeFileSync(path.join(t.ours.dir, 'g.yaml'), t.ours.stdout)
    const r = await run(realSops(), ['decrypt', 'g.yaml'], { cwd: t.ours.dir, env: baseEnv(path.join(t.root, 'home'), env()) })
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout.toString() }).toEqual({ code: 0, stderr: '', stdout: 'a: 1\nb:\n    - x\n    - "y"\n' })
  })
})

describe('hckms without a project id: both ask IAM (loopback over TLS)', () => {
  let tlsKms: HckmsServer
  let cert: LoopbackCert
  // The SDK puts https:// before HUAWEICLOUD_SDK_IAM_ENDPOINT, so this server speaks TLS; Go trusts
  // its CA through SSL_CERT_FILE, node through NODE_EXTRA_CA_CERTS.
  const tlsEnv = (extra: Record<string, string | undefined> = {}) => ({
    ...tlsKms.env(),
    HUAWEICLOUD_SDK_PROJECT_ID: undefined,
    HUAWEICLOUD_SDK_IAM_ENDPOINT: tlsKms.url.slice('https://'.length),
    SSL_CERT_FILE: cert.caPath,
    NODE_EXTRA_CA_CERTS: cert.caPath,
    ...extra,
  })
  beforeAll(async () => {
    cert = generateLoopbackCert()
    tlsKms = await startHckmsServer({ tls: cert })
  })
  afterAll(async () => {
    await tlsKms?.close()
    cert?.cleanup()
  })

  it('encrypt and cross-decrypt: IAM is asked for the project of the region, then KMS', async () => {
    const id = tlsKms.keyId(tlsKms.createKey())
    const t = await twin(['encrypt', '--hckms', id, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: tlsEnv() })
    expectSame(t, { encryptedFiles: true }, 'hckms: project id from IAM')
    await crossDecrypt(t, 'e.yaml')
    const paths = tlsKms.log.map((l) => `${l.method} ${l.path} ${l.status}`)
    expect(paths.filter((p) => p.startsWith('GET /v3/projects 200')).length).toBeGreaterThanOrEqual(2)
    expect(paths.every((p) => p.endsWith(' 200'))).toBe(true)
  })
})

describe('hckms failures, in sops\'s words', () => {
  it.each([
    ['no colon', 'nocolon'],
    ['empty region', ':0d0466b0-e727-4d9c-b35d-f84bb474a37f'],
    ['empty uuid', 'tr-west-1: '],
    ['a good id and a bad one', `${'tr-west-1:0d0466b0-e727-4d9c-b35d-f84bb474a37f'},bad`],
  ])('key id: %s', async (label, id) => {
    const t = await twin(['encrypt', '--hckms', id, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, `hckms: key id ${label}`)
    expect(t.ours.code).toBe(1)
  })

  it('a region the SDK does not know (and no override)', async () => {
    const t = await twin(['encrypt', '--hckms', 'xx-nowhere-1:0d0466b0-e727-4d9c-b35d-f84bb474a37f', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, 'hckms: unknown region')
  })

  it('encrypt with a wrong secret key: the gateway refuses the signature', async () => {
    const t = await twin(['encrypt', '--hckms', keyId, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env({ HUAWEICLOUD_SDK_SK: 'not-the-secret' }) })
    expectSame(t, {}, 'hckms: encrypt, bad signature')
    expect(t.ours.stderr).toContain('verify aksk signature fail')
  })

  it('decrypt with a wrong secret key', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': sopsYaml }, env: env({ HUAWEICLOUD_SDK_SK: 'not-the-secret' }) })
    expectSame(t, {}, 'hckms: decrypt, bad signature')
    expect(t.ours.code).toBe(128)
  })

  it('decrypt with an unknown access key', async () => {
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': sopsYaml }, env: env({ HUAWEICLOUD_SDK_AK: 'SOMEONEELSE' }) })
    expectSame(t, {}, 'hckms: decrypt, unknown AK')
  })

  it('encrypt to a key the KMS does not have', async () => {
    const t = await twin(['encrypt', '--hckms', 'tr-west-1:00000000-0000-0000-0000-000000000000', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(t, {}, 'hckms: no such key')
  })

  it('decrypt a damaged enc', async () => {
    const damaged = sopsYaml.toString().replace(/(enc: [0-9A-F]+)[0-9A-F]{4}\n/, (_, head: string) => `${head}0000\n`)
    expect(damaged).not.toBe(sopsYaml.toString())
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': damaged }, env: env() })
    expectSame(t, {}, 'hckms: damaged enc')
  })

  it.each([
    ['no colon', 'nocolon'],
    ['empty region', ':0d0466b0-e727-4d9c-b35d-f84bb474a37f'],
    ['empty uuid', '"tr-west-1: "'],
  ])('a file whose key_id has %s: refused at load by decrypt, rotate, filestatus and updatekeys (exit 1)', async (label, id) => {
    const bad = sopsYaml.toString().replace(/key_id: .*/, `key_id: ${id}`)
    expect(bad).not.toBe(sopsYaml.toString())
    const config = `creation_rules:\n  - hckms: ["${keyId}"]\n`
    for (const args of [['decrypt', 'e.yaml'], ['rotate', 'e.yaml'], ['filestatus', 'e.yaml'], ['updatekeys', '-y', 'e.yaml']]) {
      const t = await twin(args, { files: { 'e.yaml': bad, '.sops.yaml': config }, env: env() })
      expectSame(t, {}, `hckms: key_id ${label} in the file, ${args[0]}`)
      expect(t.ours.code).toBe(1)
    }
  })

  it('decrypt when the KMS is unreachable', async () => {
    const closed = await closedPortUrl()
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': sopsYaml }, env: env({ [regionEnvName('tr-west-1')]: closed }) })
    expectSame(t, {}, 'hckms: unreachable')
  })

  it('no credentials at all: the same chain message, less the providers tsops does not have', async () => {
    const t = await twin(['encrypt', '--hckms', keyId, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env({ HUAWEICLOUD_SDK_AK: undefined, HUAWEICLOUD_SDK_SK: undefined }) })
    const head =
      'Could not generate data key: \\[failed to encrypt new data key with master key "tr-west-1:[0-9a-f-]+": failed to create HuaweiCloud KMS client: failed to get HuaweiCloud credentials: ' +
      '\\{"ErrorMessage": "unable to get credential in providers:\\n\\{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"\\}\\nopen \\$ROOT/home/\\.huaweicloud/credentials: no such file or directory\\n'
    expectDocumentedDifference(
      t,
      {
        // sops goes on to the ECS metadata service and pod identity; what the metadata service
        // answers depends on the machine.
        sopsStderr: new RegExp(`^${head}[^]*HC_CONTAINER_CREDENTIALS_FULL_URI must be set when using pod identity credential"\\}\\]\\n$`),
        tsopsStderr: new RegExp(`^${head}\\(tsops reads no ECS metadata or pod identity credentials\\)"\\}\\]\\n$`),
      },
      'hckms: no credentials (metadata and pod identity not read by tsops)',
    )
  })
})
