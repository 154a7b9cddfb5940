// Side by side with real sops 3.13.2: where the binary is, one environment both tools read
// their age key from, and timing that alternates the two tools run by run, so a busy machine
// slows both alike (medians reported with the spread of the runs).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const cli = path.join(root, 'dist/cli/tsops.cjs')
export const SOPS_VERSION = 'v3.13.2'

/** The real sops, found as test/sops/harness.ts finds it (scripts/install-test-tools.sh builds it). */
export function realSops() {
  const tools = process.env.TSOPS_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tsops-tools')
  const file = process.env.TSOPS_REAL_SOPS ?? path.join(tools, `sops-${SOPS_VERSION}`, 'sops')
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run scripts/install-test-tools.sh first (or set TSOPS_REAL_SOPS)`)
  return file
}

/**
 * A private HOME with one age identity in a key file both tools read (SOPS_AGE_KEY_FILE), so
 * neither touches the user's keys or caches. → { env, recipient, identity }
 */
export async function benchEnv(work) {
  const { generateAgeIdentity } = await import(path.join(root, 'dist/lib/keys/age.js'))
  const { identity, recipient } = await generateAgeIdentity()
  const keyFile = path.join(work, 'age-keys.txt')
  fs.writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 })
  const env = { PATH: process.env.PATH, HOME: work, SOPS_AGE_KEY_FILE: keyFile, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
  return { env, recipient, identity }
}

export function tsopsArgs(...args) {
  return [process.execPath, [cli, ...args]]
}

/** Run a command to completion (stdout discarded unless asked); a failure throws with its stderr. */
export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30, ...options, stdio: ['ignore', options.keepStdout ? 'pipe' : 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`)
  return r
}

export function timed(fn) {
  const t = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t) / 1e6
}

export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], runs: s.length }
}

/**
 * Time each contender `runs` times, alternating them within every round (after `warmup` untimed
 * rounds). contenders: { name: () => void } → { name: stats }
 */
export function alternate(contenders, { runs = 5, warmup = 1 } = {}) {
  const names = Object.keys(contenders)
  for (let i = 0; i < warmup; i++) for (const n of names) contenders[n]()
  const times = Object.fromEntries(names.map((n) => [n, []]))
  for (let i = 0; i < runs; i++) {
    // Alternate who goes first too: the second of a pair should not always get the warmer cache.
    const order = i % 2 === 0 ? names : [...names].reverse()
    for (const n of order) times[n].push(timed(contenders[n]))
  }
  return Object.fromEntries(names.map((n) => [n, stats(times[n])]))
}

export const fmtMs = (s) => `${s.median < 100 ? s.median.toFixed(1) : Math.round(s.median)} ms [${Math.round(s.min)}–${Math.round(s.max)}]`
