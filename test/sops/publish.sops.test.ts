/**
 * Differential tier: `publish` by real sops 3.13.2 and by tsops-as-sops, each side to its own
 * twin emulator with the same bucket/path names — moto (S3), fake-gcs-server (GCS), the loopback
 * Vault KV server — then compared: exit code, stdout, stderr, and what each side's emulator
 * holds (object names; raw uploads byte for byte; re-encrypted files with their random parts
 * masked, decrypted by real sops to the same plaintext; Vault secrets equal, requests equal).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { KV_ROOT_TOKEN, startVaultKvServer, type VaultKvServer } from '../helpers/servers/vault-kv.js'
import {
  createGcsBucket,
  fakeGcsServerPath,
  freePort,
  gcsObjects,
  motoServerPath,
  s3Client,
  s3Env,
  startFakeGcs,
  startMoto,
  type Emulator,
} from '../helpers/servers/emulators.js'
import { cleanupTwins, expectSame, maskRandom, realAgeKey, realSops, recordDocumented, run, runSide, twin, type AgeKey, type Side, type Twin, type TwinOptions } from './harness.js'

/** The tier needs every tool: a missing one is a failure naming the install script. */
function required(tool: string | undefined, what: string): string {
  if (tool === undefined) throw new Error(`${what} is missing: run scripts/install-test-tools.sh`)
  return tool
}

type Sides<T> = { real: T; ours: T }
let moto: Sides<Emulator>
let gcs: Sides<Emulator>
let kv: Sides<VaultKvServer>
let s3: Sides<Awaited<ReturnType<typeof s3Client>>>
let alice: AgeKey
let bob: AgeKey
/** One encrypted file per name, made once by real sops for alice: both sides publish the same bytes. */
const inputs = new Map<string, Buffer>()

const PLAIN: Record<string, string> = {
  'app.yaml': 'db:\n    password: hunter2\n    port: 5432\n# a comment\nratio: 0.5\nenabled: true\ntags:\n    - a\n    - b\nusers:\n    - name: ann\n      roles: [admin]\n',
  'conf/one.json': '{\n\t"token": "abc",\n\t"n": 1\n}\n',
  'conf/sub/two.env': 'USER=admin\nPASS=s3cr3t\n',
  'strings.yaml': 'user: admin\nnested:\n    pass: x\n',
  'suffix.yaml': 'a: secret\nx_unencrypted: plain\n',
  'db.ini': '[db]\nuser = admin\npass = s3cr3t\n',
}

beforeAll(async () => {
  const motoBin = required(motoServerPath(), 'moto_server')
  const gcsBin = required(fakeGcsServerPath(), 'fake-gcs-server')
  const [m1, m2, g1, g2, k1, k2] = await Promise.all([startMoto(motoBin), startMoto(motoBin), startFakeGcs(gcsBin), startFakeGcs(gcsBin), startVaultKvServer(), startVaultKvServer()])
  moto = { real: m1, ours: m2 }
  gcs = { real: g1, ours: g2 }
  kv = { real: k1, ours: k2 }
  s3 = { real: await s3Client(m1), ours: await s3Client(m2) }
  for (const server of [k1, k2]) {
    server.mount('secret', 2)
    server.mount('kv', 1)
  }
  for (const side of ['real', 'ours'] as const) {
    await s3[side].createBucket('bkt')
    await createGcsBucket(gcs[side], 'gbkt')
  }
  alice = await realAgeKey()
  bob = await realAgeKey()
  const scratch = fs.mkdtempSync(path.join(path.dirname(alice.file), 'in-'))
  for (const [name, text] of Object.entries(PLAIN)) {
    const file = path.join(scratch, path.basename(name))
    fs.writeFileSync(file, text)
    const r = await run(realSops(), ['encrypt', '--age', alice.recipient, file], { cwd: scratch, env: { PATH: process.env.PATH, HOME: scratch } })
    if (r.code !== 0) throw new Error(`sops encrypt ${name}: ${r.stderr}`)
    inputs.set(name, r.stdout)
  }
}, 300_000)

afterAll(async () => {
  s3?.real.destroy()
  s3?.ours.destroy()
  await Promise.all([moto?.real.stop(), moto?.ours.stop(), gcs?.real.stop(), gcs?.ours.stop(), kv?.real.close(), kv?.ours.close()])
  cleanupTwins()
})

/** Each side reaches its own emulators; the names in the config are the same. */
function options(config: string, files: string[], extra: Partial<TwinOptions> = {}): TwinOptions {
  const sideEnv = (side: 'real' | 'ours') => ({ ...s3Env(moto[side]), STORAGE_EMULATOR_HOST: gcs[side].hostPort, VAULT_ADDR: kv[side].url })
  return {
    // An empty config: no .sops.yaml at all.
    files: { ...(config === '' ? {} : { '.sops.yaml': config }), ...Object.fromEntries(files.map((f) => [f, inputs.get(f)!])) },
    env: { SOPS_AGE_KEY_FILE: alice.file, VAULT_TOKEN: KV_ROOT_TOKEN },
    toolEnv: { real: sideEnv('real'), ours: sideEnv('ours') },
    ...extra,
  }
}

/** Each side's emulator addresses and S3's random request ids read the same. */
function masked(t: Twin): Twin {
  const side = (s: Side, name: 'real' | 'ours'): Side => {
    const mask = (text: string) =>
      text
        .replaceAll(kv[name].url, '$VAULT')
        .replaceAll(moto[name].url, '$S3')
        .replace(/RequestID: [0-9A-Za-z-]+, HostID: [0-9A-Za-z+/=-]+/g, 'RequestID: <id>, HostID: <id>')
    return { ...s, stdout: Buffer.from(mask(s.stdout.toString('latin1')), 'latin1'), stderr: mask(s.stderr) }
  }
  return { ...t, real: side(t.real, 'real'), ours: side(t.ours, 'ours') }
}

/** Each side's objects, in name order. */
async function bucketsAfter(kind: 's3' | 'gcs', bucket: string): Promise<Sides<Map<string, Buffer>>> {
  const read = (side: 'real' | 'ours') => (kind === 's3' ? s3[side].objects(bucket) : gcsObjects(gcs[side], bucket))
  return { real: await read('real'), ours: await read('ours') }
}

/** Real sops decrypts an uploaded object (the identity given) to stdout. */
async function sopsDecrypts(object: Buffer, name: string, key: AgeKey): Promise<string> {
  const dir = fs.mkdtempSync(path.join(path.dirname(key.file), 'dec-'))
  const file = path.join(dir, path.basename(name))
  fs.writeFileSync(file, object)
  const r = await runSide('real', ['decrypt', file], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, SOPS_AGE_KEY_FILE: key.file } })
  expect(r.stderr, `sops decrypts ${name}`).toBe('')
  return r.stdout.toString()
}

const metadataKeys = (object: Buffer, name: string): string[] => {
  const doc = (name.endsWith('.json') ? JSON.parse(object.toString()) : YAML.parse(object.toString())) as { sops?: Record<string, unknown> }
  return Object.keys(doc.sops ?? {}).sort()
}

describe('publish: real sops and tsops side by side', () => {
  it('S3, --recursive --omit-extensions, two rules: the same object names, the files uploaded as they are', async () => {
    const config = 'destination_rules:\n  - path_regex: ^conf/sub/\n    s3_bucket: bkt\n    s3_prefix: sub/\n  - s3_bucket: bkt\n    s3_prefix: raw/\n'
    const t = masked(await twin(['publish', '--yes', '--recursive', '--omit-extensions', 'conf'], options(config, ['conf/one.json', 'conf/sub/two.env'])))
    expectSame(t, {}, 'publish s3 recursive')
    const { real, ours } = await bucketsAfter('s3', 'bkt')
    expect([...ours.keys()].sort()).toEqual([...real.keys()].sort())
    expect([...real.keys()].sort()).toEqual(['raw/one', 'sub/sub/two'])
    for (const [name, bytes] of real) expect(ours.get(name)!.equals(bytes), name).toBe(true)
  })

  it("S3 with a recreation_rule: the same key-group changes shown, the same file layout, both decrypt to the same values with the rule's key", async () => {
    const config = `destination_rules:\n  - s3_bucket: bkt\n    s3_prefix: re/\n    recreation_rule:\n      age: ${bob.recipient}\n      unencrypted_suffix: _plain\n`
    const t = masked(await twin(['publish', '-y', 'app.yaml'], options(config, ['app.yaml'])))
    expectSame(t, {}, 'publish s3 recreation_rule')
    expect(t.real.stdout.toString()).toContain(`+++ ${bob.recipient}`)
    const { real, ours } = await bucketsAfter('s3', 'bkt')
    const r = real.get('re/app.yaml')!
    const o = ours.get('re/app.yaml')!
    expect(maskRandom(o.toString())).toBe(maskRandom(r.toString()))
    expect(metadataKeys(o, 'app.yaml')).toEqual(metadataKeys(r, 'app.yaml'))
    expect(await sopsDecrypts(o, 'app.yaml', bob)).toBe(await sopsDecrypts(r, 'app.yaml', bob))
  })

  it.each(['conf/sub/two.env', 'db.ini'])('S3, %s re-encrypted for two key groups: the same changes shown, the same layout, the same values', async (file) => {
    const config = `destination_rules:\n  - s3_bucket: bkt\n    s3_prefix: groups/\n    recreation_rule:\n      shamir_threshold: 2\n      key_groups:\n        - age: [${alice.recipient}]\n        - age: [${bob.recipient}]\n`
    const t = masked(await twin(['publish', '-y', file], options(config, [file])))
    expectSame(t, {}, `publish s3 key groups ${file}`)
    expect([t.real.code, t.real.stderr]).toEqual([0, ''])
    const name = `groups/${path.basename(file)}`
    const { real, ours } = await bucketsAfter('s3', 'bkt')
    expect(maskRandom(ours.get(name)!.toString())).toBe(maskRandom(real.get(name)!.toString()))
    // Both groups' shares are needed: one key file with both identities.
    const both: AgeKey = { ...bob, file: path.join(path.dirname(bob.file), 'both.txt') }
    fs.writeFileSync(both.file, fs.readFileSync(alice.file, 'utf8') + fs.readFileSync(bob.file, 'utf8'))
    expect(await sopsDecrypts(ours.get(name)!, file, both)).toBe(await sopsDecrypts(real.get(name)!, file, both))
  })

  it('GCS with a recreation_rule and omit_extensions: the same names and layout, the same values', async () => {
    const config = `destination_rules:\n  - gcs_bucket: gbkt\n    gcs_prefix: g/\n    omit_extensions: true\n    recreation_rule:\n      key_groups:\n        - age: [${bob.recipient}]\n`
    const t = masked(await twin(['publish', '-y', 'conf/one.json'], options(config, ['conf/one.json'])))
    expectSame(t, {}, 'publish gcs')
    const { real, ours } = await bucketsAfter('gcs', 'gbkt')
    expect([...ours.keys()]).toEqual([...real.keys()])
    expect([...real.keys()]).toEqual(['g/one'])
    expect(maskRandom(ours.get('g/one')!.toString())).toBe(maskRandom(real.get('g/one')!.toString()))
    expect(metadataKeys(ours.get('g/one')!, 'one.json')).toEqual(metadataKeys(real.get('g/one')!, 'one.json'))
    expect(await sopsDecrypts(ours.get('g/one')!, 'one.json', bob)).toBe(await sopsDecrypts(real.get('g/one')!, 'one.json', bob))
  })

  it('Vault KV v2 and v1: the same secrets, the same requests, and an unchanged secret is not written again', async () => {
    const config = 'destination_rules:\n  - path_regex: env$\n    vault_path: team\n    vault_kv_mount_name: kv/\n    vault_kv_version: 1\n  - vault_path: apps/web/\n'
    for (const [i, file] of ['app.yaml', 'conf/sub/two.env', 'strings.yaml', 'strings.yaml'].entries()) {
      const before = { real: kv.real.log.length, ours: kv.ours.log.length }
      const t = masked(await twin(['publish', '-y', file], options(config, [file])))
      expectSame(t, {}, `publish vault ${i} ${file}`)
      const requests = (side: 'real' | 'ours') => kv[side].log.slice(before[side]).map((q) => ({ method: q.method, path: q.path, body: q.body, token: q.token, status: q.status }))
      expect(requests('ours'), file).toEqual(requests('real'))
    }
    for (const [mount, secret] of [['secret', 'apps/web/app.yaml'], ['kv', 'team/two.env'], ['secret', 'apps/web/strings.yaml']] as const) {
      expect(kv.ours.read(mount, secret), secret).toEqual(kv.real.read(mount, secret))
      expect(kv.ours.versions(mount, secret), secret).toBe(kv.real.versions(mount, secret))
    }
    expect(kv.real.versions('secret', 'apps/web/strings.yaml')).toBe(1)
  })

  it('the question: n cancels, an empty answer and the end of input fail, y then uploads', async () => {
    const config = 'destination_rules:\n  - s3_bucket: bkt\n    s3_prefix: ask/\n'
    for (const input of ['n\n', '\n', '', 'yes\nn\n', 'y\n']) {
      const t = masked(await twin(['publish', 'app.yaml'], options(config, ['app.yaml'], { input })))
      expectSame(t, {}, `publish question ${JSON.stringify(input)}`)
    }
    const { real, ours } = await bucketsAfter('s3', 'bkt')
    expect([...ours.keys()].filter((k) => k.startsWith('ask/'))).toEqual([...real.keys()].filter((k) => k.startsWith('ask/')))
  })

  it('--recursive with the question: n for one file prints the cancellation and goes on', async () => {
    const config = 'destination_rules:\n  - s3_bucket: bkt\n    s3_prefix: ask-r/\n'
    const t = masked(await twin(['publish', '--recursive', 'conf'], options(config, ['conf/one.json', 'conf/sub/two.env'], { input: 'n\ny\n' })))
    expectSame(t, {}, 'publish recursive question')
    const { real, ours } = await bucketsAfter('s3', 'bkt')
    const asked = (m: Map<string, Buffer>) => [...m.keys()].filter((k) => k.startsWith('ask-r/')).sort()
    expect(asked(ours)).toEqual(asked(real))
    expect(asked(real)).toEqual(['ask-r/sub/two.env'])
  })

  it.each([
    ['no matching rule', 'destination_rules:\n  - path_regex: ^nope/\n    s3_bucket: bkt\n', ['publish', '-y', 'app.yaml']],
    ['a rule without a destination', 'destination_rules:\n  - s3_prefix: x/\n', ['publish', '-y', 'app.yaml']],
    ['two destinations in one rule', 'destination_rules:\n  - s3_bucket: bkt\n    gcs_bucket: gbkt\n', ['publish', '-y', 'app.yaml']],
    ['the path as given is matched (./app.yaml)', 'destination_rules:\n  - path_regex: ^app\n    s3_bucket: bkt\n', ['publish', '-y', './app.yaml']],
    ['a directory without --recursive', 'destination_rules:\n  - s3_bucket: bkt\n', ['publish', '-y', 'conf']],
    ['a missing file', 'destination_rules:\n  - s3_bucket: bkt\n', ['publish', '-y', 'missing.yaml']],
    ['no file', 'destination_rules:\n  - s3_bucket: bkt\n', ['publish']],
    ['a bucket that does not exist', 'destination_rules:\n  - s3_bucket: no-such-bucket\n', ['publish', '-y', 'app.yaml']],
    ['a file that is not encrypted', 'destination_rules:\n  - s3_bucket: bkt\n', ['publish', '-y', '.sops.yaml']],
    ['no .sops.yaml', '', ['publish', '-y', 'app.yaml']],
    ['a Vault token that is refused', 'destination_rules:\n  - vault_path: denied\n', ['publish', '-y', 'app.yaml'], { VAULT_TOKEN: 'hvs.wrong' }],
    // CLOSED_PORT: a port nothing listens on (fetch refuses "bad ports" such as 1 outright).
    ['a Vault that does not answer', 'destination_rules:\n  - vault_path: down\n    vault_address: http://127.0.0.1:CLOSED_PORT\n', ['publish', '-y', 'app.yaml']],
  ] as [string, string, string[], Record<string, string>?][])('%s: the same message and exit code', async (label, config, args, env = {}) => {
    const base = options(config.replace('CLOSED_PORT', String(await freePort())), ['app.yaml', 'conf/one.json'])
    const t = masked(await twin(args, { ...base, env: { ...base.env, ...env } }))
    expectSame(t, {}, `publish error: ${label}`)
  })

  it('re-encrypting a value under the default _unencrypted suffix: sops encrypts it and its object fails its MAC, tsops keeps it clear (documented)', async () => {
    const config = `destination_rules:\n  - s3_bucket: bkt\n    s3_prefix: suffix/\n    recreation_rule:\n      age: ${bob.recipient}\n`
    const t = masked(await twin(['publish', '-y', 'suffix.yaml'], options(config, ['suffix.yaml'])))
    expect([t.real.code, t.ours.code]).toEqual([0, 0])
    const { real, ours } = await bucketsAfter('s3', 'bkt')
    expect(real.get('suffix/suffix.yaml')!.toString()).toMatch(/x_unencrypted: ENC\[/)
    expect(ours.get('suffix/suffix.yaml')!.toString()).toContain('x_unencrypted: plain')
    const dir = fs.mkdtempSync(path.join(path.dirname(bob.file), 'mac-'))
    fs.writeFileSync(path.join(dir, 'suffix.yaml'), real.get('suffix/suffix.yaml')!)
    const sopsOwn = await runSide('real', ['decrypt', path.join(dir, 'suffix.yaml')], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, SOPS_AGE_KEY_FILE: bob.file } })
    expect(sopsOwn.code).toBe(51) // MAC mismatch: sops cannot read what its publish wrote
    expect(await sopsDecrypts(ours.get('suffix/suffix.yaml')!, 'suffix.yaml', bob)).toBe('a: secret\nx_unencrypted: plain\n')
    recordDocumented('publish recreation_rule: values under the default _unencrypted suffix')
  })

  it('GCS, a bucket that does not exist: sops drops the error and exits 0, tsops fails (documented)', async () => {
    const t = await twin(['publish', '-y', 'app.yaml'], options('destination_rules:\n  - gcs_bucket: no-such-gcs-bucket\n', ['app.yaml']))
    expect(t.real.code).toBe(0)
    expect(t.ours.code).toBe(1)
    expect(t.ours.stderr).toMatch(/googleapi: Error 404/)
    recordDocumented('publish gcs missing bucket: sops exits 0 without uploading')
  })
})
