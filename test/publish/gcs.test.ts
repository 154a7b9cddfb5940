// `tsops publish` to Google Cloud Storage, against fake-gcs-server on loopback through
// STORAGE_EMULATOR_HOST (scripts/install-test-tools.sh builds it; CI fails without it, elsewhere
// the file is skipped with the reason printed). Every object is read back and decrypted with tsops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { createGcsBucket, fakeGcsServerPath, gcsObjects, startFakeGcs, type Emulator } from '../helpers/servers/emulators.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { bucketProject, decryptObject } from './objects.js'

const binary = fakeGcsServerPath()
const ws = cliWorkspace('tsops-publish-gcs-')

describe.runIf(binary !== undefined)('publish to GCS (fake-gcs-server)', () => {
  let gcs: Emulator

  beforeAll(async () => {
    gcs = await startFakeGcs(binary!)
  }, 60_000)
  afterAll(() => gcs?.stop())

  const project = (config: string) => bucketProject(ws, config, (name) => createGcsBucket(gcs, name))

  const publish = (dir: string, args: string[], extra: Record<string, string> = {}) =>
    runCli(['publish', ...args], { cwd: dir, env: ws.env({ STORAGE_EMULATOR_HOST: gcs.hostPort, ...extra }) })

  it('uploads the encrypted file under gcs_prefix, byte for byte, and it decrypts to the original', async () => {
    const { dir, bucket } = await project('destination_rules:\n  - gcs_bucket: BUCKET\n    gcs_prefix: env/prod/\n')
    const file = await ws.encrypted('app.yaml', 'api_key: abc123\nreplicas: 3\n', dir)
    const r = await publish(dir, ['--yes', 'app.yaml'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const objects = await gcsObjects(gcs, bucket)
    expect([...objects.keys()]).toEqual(['env/prod/app.yaml'])
    expect(objects.get('env/prod/app.yaml')!.equals(fs.readFileSync(file))).toBe(true)
    expect((await decryptObject(ws, objects.get('env/prod/app.yaml')!, 'app.yaml')).text).toBe('api_key: abc123\nreplicas: 3\n')
  })

  it('STORAGE_EMULATOR_HOST may be a URL; recreation_rule keys and omit_extensions of the rule apply', async () => {
    const other = await generateAgeIdentity()
    const { dir, bucket } = await project(`destination_rules:\n  - gcs_bucket: BUCKET\n    omit_extensions: true\n    recreation_rule:\n      age: ${other.recipient}\n`)
    fs.mkdirSync(path.join(dir, 'conf/sub'), { recursive: true })
    await ws.encrypted('one.ini', '[db]\npass = x\n', path.join(dir, 'conf'))
    await ws.encrypted('two.json', '{"k": "v"}', path.join(dir, 'conf/sub'))
    const r = await publish(dir, ['--yes', '--recursive', 'conf'], { STORAGE_EMULATOR_HOST: gcs.url })
    expect(r.code).toBe(0)
    const objects = await gcsObjects(gcs, bucket)
    expect([...objects.keys()].sort()).toEqual(['one', 'sub/two'])
    expect((await decryptObject(ws, objects.get('one')!, 'one.ini', other.identity)).text).toBe('[db]\npass = x\n')
    expect(JSON.parse((await decryptObject(ws, objects.get('sub/two')!, 'two.json', other.identity)).text)).toEqual({ k: 'v' })
  })

  it('a bucket that does not exist fails (exit 1) — sops drops this error and exits 0', async () => {
    const { dir } = await project('destination_rules:\n  - gcs_bucket: missing-bucket\n')
    await ws.encrypted('app.yaml', 'a: 1\n', dir)
    const r = await publish(dir, ['-y', 'app.yaml'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^tsops: error: could not upload to gcs:\/\/missing-bucket\/app\.yaml: googleapi: Error 404: /)
  })
})
