// Shared by the benchmarks: medians and timing a whole process.
import { spawnSync } from 'node:child_process'

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Wall time of one run of a command in ms (its stdout discarded); a failure throws. */
export function timeProcess(cmd, args, options = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return ms
}
