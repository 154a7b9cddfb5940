// AWS KMS a second way: moto's KMS server (a widely used AWS mock, not ours) on loopback, with
// real sops 3.13.2 and tsops-as-sops: encrypt → same layout → each decrypts the other's file,
// and one failure (a key moto does not have). moto comes from PyPI: `pip install 'moto[server]==5.2.6'`
// (scripts/install-test-tools.sh is where CI would do it); its moto_server is found on PATH,
// in $TSOPS_MOTO_SERVER, or in <tools>/moto/bin.
import { afterAll, beforeAll, describe, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { cleanupTwins, crossDecrypt, expectSame, toolsDir, twin, type Side, type Twin } from './harness.js'

function motoServer(): string {
  const candidates = [process.env.TSOPS_MOTO_SERVER, path.join(toolsDir(), 'moto', 'bin', 'moto_server'), ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'moto_server'))]
  const found = candidates.find((c): c is string => c !== undefined && c !== '' && fs.existsSync(c))
  if (!found) throw new Error("moto_server is missing: pip install 'moto[server]==5.2.6' (or set TSOPS_MOTO_SERVER)")
  return found
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

let moto: ChildProcess
let url: string
const REGION = 'eu-central-1'

/** A KMS call to moto (it does not check signatures; the header only names the region). */
async function kms(target: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'X-Amz-Target': `TrentService.${target}`, 'Content-Type': 'application/x-amz-json-1.1', Authorization: `AWS4-HMAC-SHA256 Credential=AKIATEST/20260101/${REGION}/kms/aws4_request, SignedHeaders=host, Signature=0` },
    body: JSON.stringify(body),
  })
  const json = (await res.json()) as Record<string, unknown>
  if (!res.ok) throw new Error(`moto ${target}: ${JSON.stringify(json)}`)
  return json
}

beforeAll(async () => {
  const port = await freePort()
  url = `http://127.0.0.1:${port}`
  moto = spawn(motoServer(), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  for (let i = 0; ; i++) {
    try {
      await kms('ListKeys', {})
      break
    } catch (e) {
      if (i > 100) throw e
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}, 60_000)
afterAll(() => {
  moto?.kill()
  cleanupTwins()
})

const env = () => ({ AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test-secret', AWS_REGION: REGION, AWS_ENDPOINT_URL_KMS: url })

/** moto's request ids are random: the same placeholder on both sides. */
function maskRequestIds(t: Twin): Twin {
  const side = (s: Side): Side => ({ ...s, stderr: s.stderr.replace(/RequestID: [0-9A-Za-z-]+/g, 'RequestID: <id>') })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

describe('aws kms through moto', () => {
  it('encrypt with --kms: the same layout, and each side decrypts the other\'s file', async () => {
    const arn = ((await kms('CreateKey', {})).KeyMetadata as { Arn: string }).Arn
    const t = await twin(['encrypt', '--kms', arn, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb: [x, y]\n' }, env: env() })
    expectSame(t, { encryptedFiles: true }, 'moto kms: encrypt')
    await crossDecrypt(t, 'e.yaml')
  })

  it('encrypt to a key that does not exist', async () => {
    const t = await twin(['encrypt', '--kms', `arn:aws:kms:${REGION}:123456789012:key/00000000-0000-0000-0000-000000000000`, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: env() })
    expectSame(maskRequestIds(t), {}, 'moto kms: unknown key')
  })
})
