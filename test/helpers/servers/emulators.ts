/**
 * Third-party cloud emulators on loopback, for `publish`: moto's server (PyPI `moto[server]`)
 * for S3 and fake-gcs-server (Go module github.com/fsouza/fake-gcs-server) for GCS, both
 * installed by scripts/install-test-tools.sh into the tools cache.
 *
 * In CI (CI=true) a missing tool is a failure; elsewhere the caller skips with the printed reason.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export const FAKE_GCS_VERSION = 'v1.56.1'

export interface Emulator {
  /** http://127.0.0.1:PORT */
  url: string
  /** 127.0.0.1:PORT */
  hostPort: string
  stop(): Promise<void>
}

export function toolsDir(): string {
  return process.env.TSOPS_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tsops-tools')
}

/** The first candidate that exists, else undefined (a failure under CI, a printed skip reason otherwise). */
function findTool(what: string, candidates: (string | undefined)[]): string | undefined {
  const found = candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c))
  if (found) return found
  const reason = `${what} is missing: run scripts/install-test-tools.sh`
  if (process.env.CI) throw new Error(reason)
  process.stderr.write(`skipping: ${reason}\n`)
  return undefined
}

export function motoServerPath(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(':').map((d) => path.join(d, 'moto_server'))
  return findTool("moto_server (pip install 'moto[server]==5.2.6')", [process.env.TSOPS_MOTO_SERVER, path.join(toolsDir(), 'moto', 'bin', 'moto_server'), ...onPath])
}

export function fakeGcsServerPath(): string | undefined {
  return findTool(`fake-gcs-server ${FAKE_GCS_VERSION}`, [process.env.TSOPS_FAKE_GCS_SERVER, path.join(toolsDir(), `fake-gcs-server-${FAKE_GCS_VERSION}`, 'fake-gcs-server')])
}

export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** moto's server with every service (S3 among them). */
export async function startMoto(binary: string): Promise<Emulator> {
  const port = await freePort()
  return started(spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }), port, '/moto-api/data.json')
}

/** fake-gcs-server in memory, plain HTTP. */
export async function startFakeGcs(binary: string): Promise<Emulator> {
  const port = await freePort()
  const args = ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-public-host', `127.0.0.1:${port}`, '-log-level', 'error']
  return started(spawn(binary, args, { stdio: 'ignore' }), port, '/storage/v1/b')
}

async function started(child: ChildProcess, port: number, probe: string): Promise<Emulator> {
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`))))
  for (let i = 0; ; i++) {
    try {
      const res = await Promise.race([fetch(url + probe), exited])
      if (res.ok) break
    } catch (e) {
      if (i > 300 || (e instanceof Error && e.message.startsWith('emulator exited'))) throw e
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  exited.catch(() => undefined)
  return {
    url,
    hostPort: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill()
      }),
  }
}

/** Create a bucket in fake-gcs-server (JSON API). */
export async function createGcsBucket(gcs: Emulator, name: string): Promise<void> {
  const res = await fetch(`${gcs.url}/storage/v1/b?project=test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) })
  if (!res.ok) throw new Error(`create bucket ${name}: ${res.status} ${await res.text()}`)
}

/** Every object of a fake-gcs-server bucket: name → bytes. */
export async function gcsObjects(gcs: Emulator, bucket: string): Promise<Map<string, Buffer>> {
  const list = (await (await fetch(`${gcs.url}/storage/v1/b/${bucket}/o`)).json()) as { items?: { name: string }[] }
  const out = new Map<string, Buffer>()
  for (const { name } of list.items ?? []) {
    const res = await fetch(`${gcs.url}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?alt=media`)
    out.set(name, Buffer.from(await res.arrayBuffer()))
  }
  return out
}

/** S3 through the SDK against moto (which checks no signature). */
export async function s3Client(moto: Emulator) {
  const s3 = await import('@aws-sdk/client-s3')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true' // the test process's own client: no node-20 notice
  const client = new s3.S3Client({ region: 'us-east-1', endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test-secret' } })
  return {
    createBucket: async (name: string) => void (await client.send(new s3.CreateBucketCommand({ Bucket: name }))),
    /** Every object of a bucket: key → bytes. */
    objects: async (bucket: string): Promise<Map<string, Buffer>> => {
      const listed = await client.send(new s3.ListObjectsV2Command({ Bucket: bucket }))
      const out = new Map<string, Buffer>()
      for (const { Key } of listed.Contents ?? []) {
        const got = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: Key! }))
        out.set(Key!, Buffer.from(await got.Body!.transformToByteArray()))
      }
      return out
    },
    destroy: () => client.destroy(),
  }
}

/** The environment that points sops and tsops at moto's S3. */
export function s3Env(moto: Emulator): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test-secret', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: moto.url, AWS_EC2_METADATA_DISABLED: 'true' }
}
