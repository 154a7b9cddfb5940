// `tsops publish` to S3, against moto's S3 server on loopback (scripts/install-test-tools.sh
// installs it; CI fails without it, elsewhere the file is skipped with the reason printed).
// Every object is read back with the AWS SDK and decrypted with tsops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { motoServerPath, s3Client, s3Env, startMoto, type Emulator } from '../helpers/servers/emulators.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { bucketProject, decryptObject } from './objects.js'

const moto = motoServerPath()
const ws = cliWorkspace('tsops-publish-s3-')

describe.runIf(moto !== undefined)('publish to S3 (moto)', () => {
  let server: Emulator
  let s3: Awaited<ReturnType<typeof s3Client>>

  beforeAll(async () => {
    server = await startMoto(moto!)
    s3 = await s3Client(server)
  }, 60_000)
  afterAll(async () => {
    s3?.destroy()
    await server?.stop()
  })

  const project = (config: string) => bucketProject(ws, config, (name) => s3.createBucket(name))

  const publish = (dir: string, args: string[], input?: string, extra: Record<string, string> = {}) =>
    runCli(['publish', ...args], { cwd: dir, env: ws.env({ ...s3Env(server), ...extra }), ...(input === undefined ? {} : { input }) })

  it('uploads the encrypted file as it is when the rule has no recreation keys, and it decrypts to the original', async () => {
    const { dir, bucket } = await project('destination_rules:\n  - s3_bucket: BUCKET\n    s3_prefix: team/\n')
    const file = await ws.encrypted('app.yaml', 'db:\n  password: hunter2\nport: 5432\n', dir)
    const r = await publish(dir, ['--yes', 'app.yaml'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const objects = await s3.objects(bucket)
    expect([...objects.keys()]).toEqual(['team/app.yaml'])
    expect(objects.get('team/app.yaml')!.equals(fs.readFileSync(file))).toBe(true)
    expect((await decryptObject(ws, objects.get('team/app.yaml')!, 'app.yaml')).text).toBe('db:\n    password: hunter2\nport: 5432\n')
  })

  it("re-encrypts for the recreation_rule's keys: only the new key opens the object, and the key change is shown", async () => {
    const other = await generateAgeIdentity()
    const { dir, bucket } = await project(`destination_rules:\n  - s3_bucket: BUCKET\n    recreation_rule:\n      age: ${other.recipient}\n`)
    await ws.encrypted('app.json', '{"token": "s3cr3t", "n": 1}', dir)
    const r = await publish(dir, ['-y', 'app.json'])
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(`The following changes will be made to the file's key groups:\nGroup 1\n+++ ${other.recipient}\n--- ${ws.age.recipient}\n`)
    const object = (await s3.objects(bucket)).get('app.json')!
    expect(object.toString()).toContain(other.recipient)
    expect(object.toString()).not.toContain(ws.age.recipient)
    expect(object.toString()).not.toContain('s3cr3t')
    const opened = await decryptObject(ws, object, 'app.json', other.identity)
    expect(opened.code).toBe(0)
    expect(JSON.parse(opened.text)).toEqual({ token: 's3cr3t', n: 1 })
    expect((await decryptObject(ws, object, 'app.json')).code).toBe(128) // the file's old key is gone
  })

  it('--recursive: the first matching rule per file, names relative to the directory; --omit-extensions drops the extension', async () => {
    const { dir, bucket } = await project(
      'destination_rules:\n  - path_regex: ^secrets/prod/\n    s3_bucket: BUCKET\n    s3_prefix: prod/\n  - s3_bucket: BUCKET\n    s3_prefix: all/\n',
    )
    fs.mkdirSync(path.join(dir, 'secrets/prod'), { recursive: true })
    await ws.encrypted('a.yaml', 'a: 1\n', path.join(dir, 'secrets'))
    await ws.encrypted('b.env', 'B=2\n', path.join(dir, 'secrets/prod'))
    const r = await publish(dir, ['--yes', '--recursive', '--omit-extensions', 'secrets'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const objects = await s3.objects(bucket)
    expect([...objects.keys()].sort()).toEqual(['all/a', 'prod/prod/b'])
    expect((await decryptObject(ws, objects.get('prod/prod/b')!, 'b.env')).text).toBe('B=2\n')
  })

  it('asks before each upload: n cancels (exit 1, nothing uploaded), y uploads', async () => {
    const { dir, bucket } = await project('destination_rules:\n  - s3_bucket: BUCKET\n')
    await ws.encrypted('app.yaml', 'a: 1\n', dir)
    const question = `uploading ${fs.realpathSync(dir)}/app.yaml to s3://${bucket}/app.yaml ? (y/n): `
    const no = await publish(fs.realpathSync(dir), ['app.yaml'], 'maybe\nn\n')
    expect(no.stdout.toString()).toBe(question + question)
    expect(no.stderr).toContain(`Publication of ${fs.realpathSync(dir)}/app.yaml canceled`)
    expect(no.code).toBe(1)
    expect((await s3.objects(bucket)).size).toBe(0)
    const eof = await publish(fs.realpathSync(dir), ['app.yaml'], '')
    expect(eof.stderr).toContain('tsops: error: EOF')
    expect(eof.code).toBe(1)
    const yes = await publish(fs.realpathSync(dir), ['app.yaml'], 'y\n')
    expect(yes.code).toBe(0)
    expect([...(await s3.objects(bucket)).keys()]).toEqual(['app.yaml'])
  })

  it("a bucket that does not exist: S3's error in sops's words, exit 1", async () => {
    const { dir } = await project('destination_rules:\n  - s3_bucket: no-such-bucket\n')
    await ws.encrypted('app.yaml', 'a: 1\n', dir)
    const r = await publish(dir, ['-y', 'app.yaml'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^tsops: error: operation error S3: PutObject, https response error StatusCode: 404, RequestID: .*, HostID: .*, api error NoSuchBucket: The specified bucket does not exist\n$/)
  })

  it('no matching destination rule, a rule without destination, a directory without --recursive: sops\'s messages', async () => {
    const { dir } = await project('destination_rules:\n  - path_regex: ^only/\n    s3_bucket: BUCKET\n  - path_regex: ^empty/\n    s3_prefix: x/\n')
    await ws.encrypted('app.yaml', 'a: 1\n', dir)
    fs.mkdirSync(path.join(dir, 'empty'))
    await ws.encrypted('e.yaml', 'a: 1\n', path.join(dir, 'empty'))
    const none = await publish(dir, ['-y', 'app.yaml'])
    expect([none.code, none.stderr]).toEqual([1, 'tsops: error: error loading config: no matching destination found in config\n'])
    const empty = await publish(dir, ['-y', 'empty/e.yaml'])
    expect(empty.code).toBe(1)
    expect(empty.stderr).toMatch(/^tsops: error: no destination configured for this file\n/)
    const directory = await publish(dir, ['-y', 'empty'])
    expect(directory.code).toBe(1)
    expect(directory.stderr).toMatch(/^tsops: error: can't operate on a directory without --recursive flag\.\n/)
  })
})
