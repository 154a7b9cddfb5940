// 64 MiB binary file: `tsops encrypt` + `tsops decrypt` vs `sops encrypt` + `sops decrypt`, each
// a process of its own run under GNU time, so both the wall time and the process's peak RSS
// (%M) are the tool's own. Peak RSS does not depend on how busy the machine is; time does, so
// the tools alternate and the median of the runs is reported.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { cli, realSops, stats } from './sops.mjs'
import { spawnSync } from 'node:child_process'

export const SIZE = 64 * 1024 * 1024

/** Wall ms and peak RSS (bytes) of one command run under /usr/bin/time. */
function measured(cmd, args, env) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
  const [seconds, kib] = r.stderr.trim().split('\n').pop().split(' ').map(Number)
  return { ms: seconds * 1000, rss: kib * 1024 }
}

/**
 * @returns {{ size, tsops: { encrypt, decrypt }, sops: { encrypt, decrypt } }} each side's
 *   { time: stats of ms, rss: peak bytes over the runs }
 */
export function benchBinary({ work, env, recipient, runs = 3 }) {
  const sops = realSops()
  const plain = path.join(work, 'big.bin')
  const data = randomBytes(SIZE)
  fs.writeFileSync(plain, data)
  const tools = {
    tsops: (args) => measured(process.execPath, [cli, ...args], env),
    sops: (args) => measured(sops, args, env),
  }
  const samples = { tsops: { encrypt: [], decrypt: [] }, sops: { encrypt: [], decrypt: [] } }
  for (let i = 0; i < runs; i++) {
    for (const name of i % 2 === 0 ? ['tsops', 'sops'] : ['sops', 'tsops']) {
      const enc = path.join(work, `big.${name}.enc`)
      const out = path.join(work, `big.${name}.out`)
      samples[name].encrypt.push(tools[name](['encrypt', '--age', recipient, '--input-type', 'binary', '--output', enc, plain]))
      samples[name].decrypt.push(tools[name](['decrypt', '--input-type', 'binary', '--output-type', 'binary', '--output', out, enc]))
      if (i === 0 && !fs.readFileSync(out).equals(data)) throw new Error(`${name}: the 64 MiB round trip changed the file`)
      fs.rmSync(out)
    }
  }
  // Each reads the other's file: the streamed envelope is sops's format.
  const cross = path.join(work, 'big.cross.out')
  tools.sops(['decrypt', '--input-type', 'binary', '--output-type', 'binary', '--output', cross, path.join(work, 'big.tsops.enc')])
  if (!fs.readFileSync(cross).equals(data)) throw new Error('sops cannot read what tsops wrote')
  tools.tsops(['decrypt', '--input-type', 'binary', '--output-type', 'binary', '--output', cross, path.join(work, 'big.sops.enc')])
  if (!fs.readFileSync(cross).equals(data)) throw new Error('tsops cannot read what sops wrote')
  for (const f of [plain, cross, path.join(work, 'big.tsops.enc'), path.join(work, 'big.sops.enc')]) fs.rmSync(f, { force: true })
  const summary = (xs) => ({ time: stats(xs.map((x) => x.ms)), rss: Math.max(...xs.map((x) => x.rss)) })
  return {
    size: SIZE,
    tsops: { encrypt: summary(samples.tsops.encrypt), decrypt: summary(samples.tsops.decrypt) },
    sops: { encrypt: summary(samples.sops.encrypt), decrypt: summary(samples.sops.decrypt) },
  }
}
