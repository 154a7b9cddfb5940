// 64 MiB binary file: tsops encrypt+decrypt (library, in a child process so peak RSS is its own)
// vs raw node:crypto AES-256-GCM over the same bytes, measured in the same run.
import { spawnSync } from 'node:child_process'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const SIZE = 64 * 1024 * 1024
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function rawAesMs(data) {
  const key = randomBytes(32)
  const iv = randomBytes(32)
  const t = process.hrtime.bigint()
  const c = createCipheriv('aes-256-gcm', key, iv)
  const ct = Buffer.concat([c.update(data), c.final()])
  const tag = c.getAuthTag()
  const d = createDecipheriv('aes-256-gcm', key, iv)
  d.setAuthTag(tag)
  Buffer.concat([d.update(ct), d.final()])
  return Number(process.hrtime.bigint() - t) / 1e6
}

const CHILD = `
import { randomBytes } from 'node:crypto'
const lib = await import(${JSON.stringify(path.join(root, 'dist/lib/index.js'))})
const { generateAgeIdentity } = await import(${JSON.stringify(path.join(root, 'dist/lib/keys/age.js'))})
const { identity, recipient } = await generateAgeIdentity()
const data = randomBytes(${SIZE})
const baseRss = process.memoryUsage().rss
const t = process.hrtime.bigint()
const enc = await lib.encrypt(data, { format: 'binary', age: [recipient] })
const dec = (await lib.decrypt(enc, { format: 'binary', ageIdentities: [identity] })).data
const ms = Number(process.hrtime.bigint() - t) / 1e6
if (!Buffer.from(dec).equals(data)) throw new Error('round trip mismatch')
process.stdout.write(JSON.stringify({ ms, peakRss: process.resourceUsage().maxRSS * 1024, baseRss }))
`

/** Peak RSS of `tsops encrypt` and `tsops decrypt` processes on the file (GNU time's %M, in KiB). */
function cliPeakRss(data) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-bench-bin-'))
  try {
    const env = { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') }
    const cli = path.join(root, 'dist/cli/tsops.cjs')
    const recipient = spawnSync(process.execPath, [cli, 'keygen'], { env, encoding: 'utf8' }).stdout.trim()
    fs.writeFileSync(path.join(dir, 'big.bin'), data)
    const measure = (args) => {
      const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, ...args], { env, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`tsops ${args[0]} failed: ${r.stderr}`)
      return Number(r.stderr.trim().split('\n').pop()) * 1024
    }
    return {
      encrypt: measure(['encrypt', '--age', recipient, '--output', path.join(dir, 'big.enc'), path.join(dir, 'big.bin')]),
      decrypt: measure(['decrypt', '--output', path.join(dir, 'big.out'), path.join(dir, 'big.enc')]),
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export function benchBinary() {
  const data = randomBytes(SIZE)
  rawAesMs(data.subarray(0, 1024 * 1024)) // warm up
  const raw = Math.min(rawAesMs(data), rawAesMs(data))
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (r.status !== 0) throw new Error(`binary bench failed: ${r.stderr}`)
  const { ms, peakRss } = JSON.parse(r.stdout)
  return { ms, rawMs: raw, peakRss, size: SIZE, cliPeakRss: cliPeakRss(data) }
}
