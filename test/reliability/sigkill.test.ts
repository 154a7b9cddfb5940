/**
 * `tsops encrypt -i` of a large file, SIGKILLed at many points: before, during and after the
 * write. Afterwards the file must always be either the complete original or the complete
 * encrypted result (it decrypts to the original), and whatever a killed run leaves behind (its
 * lock, its temp file) must not block the next run: that run recovers the stale lock, removes
 * the orphaned temp file and leaves nothing beside the file.
 *
 * Kill points: half of them spread evenly over an uninterrupted run's duration, half triggered
 * the moment the temp file appears (plus a few ms), so the critical write window is always hit.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { CLI } from '../helpers/paths.js'
import { runInProcess } from './support.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-kill-')
let age: { identity: string; recipient: string }
let env: Record<string, string | undefined>

beforeAll(async () => {
  age = await testAgeIdentity()
  env = cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })
  process.env.SOPS_AGE_KEY = age.identity // for the in-process decrypts that verify results
  process.env.XDG_CONFIG_HOME = path.join(dir, 'xdg')
})

type Trigger = { after: 'start'; ms: number } | { after: 'temp file'; ms: number }

interface Run {
  killed: boolean
  ms: number
}

/** Start `tsops encrypt -i file` and SIGKILL it at the trigger (unless it finishes first). */
function encryptAndKill(file: string, trigger: Trigger | undefined): Promise<Run> {
  const started = Date.now()
  const child = spawn(process.execPath, [CLI, 'encrypt', '-i', '--age', age.recipient, file], { env, stdio: 'ignore' })
  const kill = () => setTimeout(() => child.kill('SIGKILL'), trigger!.ms)
  let watcher: fs.FSWatcher | undefined
  if (trigger?.after === 'start') kill()
  if (trigger?.after === 'temp file') {
    watcher = fs.watch(path.dirname(file), (_event, name) => {
      if (name && /\.tsops-[0-9a-f]{12}\.tmp$/.test(name)) {
        watcher?.close()
        watcher = undefined
        kill()
      }
    })
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      watcher?.close()
      if (signal === null && code !== 0) reject(new Error(`encrypt exited ${code}`))
      resolve({ killed: signal === 'SIGKILL', ms: Date.now() - started })
    })
  })
}

/** Decrypts to `original`? (in-process: the CLI's code path, without another 40 MB pipe) */
async function decryptsTo(file: string, original: Buffer): Promise<boolean> {
  const out = path.join(dir, 'verify.out')
  const r = await runInProcess(['decrypt', '--output', out, file])
  const ok = r.code === 0 && fs.readFileSync(out).equals(original)
  fs.rmSync(out, { force: true })
  return ok
}

const leftovers = (file: string) => fs.readdirSync(path.dirname(file)).filter((f) => f !== path.basename(file))

describe.each([
  ['a 32 MB binary file', 'big.bin', () => randomBytes(32_000_000), 15],
  ['a 20 MB YAML file', 'big.yaml', () => Buffer.from(Array.from({ length: 20 }, (_, i) => `key${i}: ${randomBytes(750_000).toString('base64')}\n`).join('')), 5],
])('SIGKILL during encrypt -i of %s', (_what, name, make, kills) => {
  it(`${kills} kills: always the whole original or the whole result, and the next run recovers`, async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'run-'))
    const file = path.join(sub, name)
    const original = make()
    fs.writeFileSync(file, original)
    const full = await encryptAndKill(file, undefined)
    expect(await decryptsTo(file, original)).toBe(true)

    const triggers: Trigger[] = Array.from({ length: kills }, (_, i) =>
      i % 2 === 0 ? { after: 'start', ms: Math.round((full.ms * (i + 1)) / (kills + 1)) } : { after: 'temp file', ms: (i * 7) % 40 },
    )
    const seen = { original: 0, encrypted: 0, debris: 0, killed: 0 }
    for (const trigger of triggers) {
      fs.writeFileSync(file, original)
      const run = await encryptAndKill(file, trigger)
      if (run.killed) seen.killed++
      const now = fs.readFileSync(file)
      const isOriginal = now.equals(original)
      const what = `${name} killed ${trigger.ms} ms after ${trigger.after}`
      expect(isOriginal || (await decryptsTo(file, original)), `${what}: neither the original nor a complete encryption`).toBe(true)
      if (isOriginal) seen.original++
      else seen.encrypted++
      if (leftovers(file).length > 0) {
        // A lock and/or temp file of the killed run: the next run must not be blocked by it.
        seen.debris++
        const next = await runCli([isOriginal ? 'encrypt' : 'decrypt', '-i', ...(isOriginal ? ['--age', age.recipient] : []), file], { env })
        expect(next.code, `${what}: recovery run: ${next.stderr}`).toBe(0)
        expect(leftovers(file), `${what}: left after recovery`).toEqual([])
        expect(isOriginal ? await decryptsTo(file, original) : fs.readFileSync(file).equals(original)).toBe(true)
      }
    }
    // Not vacuous: runs died before and after the rename, and some mid-write.
    expect(seen.killed).toBeGreaterThanOrEqual(kills / 2)
    expect(seen.original).toBeGreaterThan(0)
    expect(seen.debris).toBeGreaterThan(0)
    console.info(`${name}: ${kills} kills (uninterrupted run ${full.ms} ms): ${JSON.stringify(seen)}`)
  }, 120_000)
})
