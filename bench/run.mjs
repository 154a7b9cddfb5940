#!/usr/bin/env node
// tsops benchmarks, side by side with real sops 3.13.2 in the same run: every row times both
// tools on the same files (alternating run by run, medians with the [min–max] spread) and prints
// both columns and the ratio tsops/sops. Requires `npm run build` and the real sops
// (scripts/install-test-tools.sh; TSOPS_REAL_SOPS overrides). Takes a few minutes.
//   BENCH_ONLY=cold,tree,binary,bulk,textconv,kms,guard,regex  runs a subset
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { alternate, benchEnv, cli, fmtMs, realSops, root, run } from './sops.mjs'

const sops = realSops()
const only = process.env.BENCH_ONLY?.split(',')
const wanted = (row) => !only || only.includes(row)
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-bench-'))
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }))
const lib = await import(path.join(root, 'dist/lib/index.js'))
const { env, recipient } = await benchEnv(work)
console.log(`tsops (${cli}) vs sops ${spawnSync(sops, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]} (${sops})`)
console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)

const results = []
/** One row: both columns, the ratio tsops/sops and its target. */
function row(name, tsops, sopsSide, target, { unit = 'ms', format = fmtMs, note } = {}) {
  const ratio = tsops.median / sopsSide.median
  const ok = ratio <= target ? 'OK' : 'ABOVE TARGET'
  results.push({ name, tsops, sops: sopsSide, ratio, target, unit, note })
  console.log(`${name}\n  tsops ${format(tsops)} | sops ${format(sopsSide)} | ${ratio.toFixed(2)}x (target <= ${target}x) ${ok}${note ? `\n  ${note}` : ''}`)
}
const tsopsCmd = (...args) => () => run(process.execPath, [cli, ...args], { env })
const sopsCmd = (...args) => () => run(sops, args, { env })

// ---- cold decrypt of a small age YAML (node's bare start as the floor) -----------------------
if (wanted('cold')) {
  const small = path.join(work, 'small.yaml')
  fs.writeFileSync(small, await lib.encrypt('db:\n    user: app\n    password: hunter2\nport: 5432\n', { format: 'yaml', age: [recipient] }))
  const r = alternate(
    { node: () => run(process.execPath, ['-e', '0'], { env }), tsops: tsopsCmd('decrypt', small), sops: sopsCmd('decrypt', small) },
    { runs: 21, warmup: 2 },
  )
  row('cold decrypt of a small age YAML', r.tsops, r.sops, 1, { note: `node -e 0 (the floor of any node CLI): ${fmtMs(r.node)} = ${(r.node.median / r.sops.median).toFixed(2)}x sops` })
}

// ---- encrypt + decrypt of a 10,000-leaf YAML and JSON ---------------------------------------
function leaves(n) {
  const services = {}
  for (let s = 0; s < n / 10; s++) {
    services[`service_${s}`] = Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`key_${k}`, `value-${s}-${k}-${'x'.repeat(k)}`]))
  }
  return services
}
function yamlOf(tree) {
  return Object.entries(tree)
    .map(([s, kv]) => `${s}:\n${Object.entries(kv).map(([k, v]) => `    ${k}: ${v}\n`).join('')}`)
    .join('')
}
if (wanted('tree')) {
  const tree = leaves(10_000)
  for (const [ext, text] of [
    ['yaml', yamlOf(tree)],
    ['json', `${JSON.stringify(tree, null, '\t')}\n`],
  ]) {
    const plain = path.join(work, `big.${ext}`)
    fs.writeFileSync(plain, text)
    const roundTrip = (tool, base) => () => {
      const enc = path.join(work, `big.${base}.enc.${ext}`)
      tool('encrypt', '--age', recipient, '--output', enc, plain)()
      tool('decrypt', '--output', path.join(work, `big.${base}.out.${ext}`), enc)()
    }
    const r = alternate({ tsops: roundTrip(tsopsCmd, 'tsops'), sops: roundTrip(sopsCmd, 'sops') }, { runs: 5, warmup: 1 })
    const same = fs.readFileSync(path.join(work, `big.tsops.out.${ext}`)).equals(fs.readFileSync(path.join(work, `big.sops.out.${ext}`)))
    row(`encrypt + decrypt of a 10,000-leaf ${ext.toUpperCase()} (two processes each)`, r.tsops, r.sops, 1, { note: same ? undefined : 'NOTE: the decrypted outputs differ' })
  }
}

// ---- 64 MiB binary: time and peak RSS --------------------------------------------------------
if (wanted('binary')) {
  const { benchBinary } = await import('./binary.mjs')
  const b = benchBinary({ work, env, recipient })
  const mib = (x) => `${(x / 1048576).toFixed(0)} MiB`
  for (const op of ['encrypt', 'decrypt']) {
    row(`${op} of a 64 MiB binary file`, b.tsops[op].time, b.sops[op].time, 1)
    const rss = { median: b.tsops[op].rss }
    row(`peak RSS of that ${op} (x the file: tsops ${(b.tsops[op].rss / b.size).toFixed(2)}, sops ${(b.sops[op].rss / b.size).toFixed(2)}; target tsops <= 2.5x the file)`, rss, { median: b.sops[op].rss }, 1, {
      format: (s) => mib(s.median),
      unit: 'bytes',
      note: b.tsops[op].rss / b.size <= 2.5 ? undefined : 'ABOVE the 2.5x-the-file target',
    })
  }
}

// ---- 200 small files: one tsops process vs a loop of sops ------------------------------------
if (wanted('bulk')) {
  const { benchBulk } = await import('./bulk.mjs')
  const r = await benchBulk({ work, env, recipient })
  row(`decrypt of ${r.files} small files: one tsops decrypt --output-dir vs a loop of sops decrypt`, r.tsops, r.sops, 0.5)
}

// ---- git log -p through the textconv driver --------------------------------------------------
if (wanted('textconv')) {
  const { benchTextconv } = await import('./textconv.mjs')
  const r = await benchTextconv({ work, env, recipient })
  row(`git log -p over ${r.commits} commits of an encrypted file, textconv driver`, r.tsops, r.sops, 0.5)
}

// ---- KMS: 10 keys vs 1, one unwrap per decrypt -----------------------------------------------
if (wanted('kms')) {
  const { benchKmsCli } = await import('./kms.mjs')
  const k = await benchKmsCli({ work, recipient })
  const fan = (who) => `${who} 10 keys / 1 key = ${(k.ten[who].median / k.one[who].median).toFixed(2)}x`
  row(`encrypt to 10 KMS keys (loopback KMS, ${k.latencyMs} ms per call)`, k.ten.tsops, k.ten.sops, 1, { note: `${fan('tsops')}, ${fan('sops')}` })
  row(`encrypt to 1 KMS key (loopback KMS, ${k.latencyMs} ms per call)`, k.one.tsops, k.one.sops, 1, {
    note:
      `tsops through the AWS SDK (TSOPS_AWS_KMS_CLIENT=sdk): ${fmtMs(k.one.tsopsSdk)} = ${(k.one.tsopsSdk.median / k.one.sops.median).toFixed(2)}x sops\n` +
      `  tsops encrypt to an age key instead (no KMS call, the floor): ${fmtMs(k.one.tsopsAge)} = ${(k.one.tsopsAge.median / k.one.sops.median).toFixed(2)}x sops`,
  })
  const c = k.cpu
  console.log(`CPU time of one tsops encrypt (load-independent): to 1 KMS key ${c.direct.toFixed(1)} ms, the same through the AWS SDK ${c.sdk.toFixed(1)} ms, to an age key ${c.age.toFixed(1)} ms`)
  const okUnwraps = k.unwraps.tsops === 1 ? 'OK' : 'NOT ONE'
  console.log(`KMS Decrypt calls to decrypt the 10-key file: tsops ${k.unwraps.tsops}, sops ${k.unwraps.sops} (target: exactly 1) ${okUnwraps}`)
  results.push({ name: 'KMS unwraps per decrypt of a 10-key file', tsops: { median: k.unwraps.tsops }, sops: { median: k.unwraps.sops }, unit: 'calls' })
}

// ---- the pre-commit guard over 1,000 staged files --------------------------------------------
if (wanted('guard')) {
  const { benchGitGuard } = await import('./git-guard.mjs')
  const { stats } = await import('./sops.mjs')
  const g = await benchGitGuard({ sops, runs: 3, sopsRuns: 2 })
  row('pre-commit guard over 1,000 staged files: tsops git pre-commit vs a loop of sops filestatus', stats(g.tsopsRuns), stats(g.sopsLoop), 1, {
    note: `git diff --cached --name-only alone: ${g.baselineMs.toFixed(1)} ms`,
  })
}

// ---- tsops only: rule regexes are linear (10x the hostile comment lines costs about 10x) ------
if (wanted('regex')) {
  const { benchHostileRegex } = await import('./hostile-regex.mjs')
  const hostile = await benchHostileRegex()
  const ratio = hostile.largeMs / (hostile.smallMs * 10)
  console.log(
    `keyless check of ${hostile.lines * 10} vs 10 x ${hostile.lines} hostile comment lines (tsops only; 1.0 = linear, 10 = quadratic): ${hostile.largeMs.toFixed(0)} ms vs ${(hostile.smallMs * 10).toFixed(0)} ms = ${ratio.toFixed(2)}x (target <= 1.5x) ${ratio <= 1.5 ? 'OK' : 'ABOVE TARGET'}`,
  )
}

// ---- tsops only: every reader, writer and rule takes linear time (n vs 10·n, bench/scaling.mjs) -
if (wanted('linear')) {
  const { benchScaling } = await import('./scaling.mjs')
  await benchScaling((name, value, baseline) => {
    const ratio = value / baseline
    console.log(`linear: ${name}: ${value.toFixed(1)} ms vs ${baseline.toFixed(1)} ms = ${ratio.toFixed(1)}x (~10x is linear, ~100x quadratic; target <= 20x) ${ratio <= 20 ? 'OK' : 'ABOVE TARGET'}`)
  })
}

// ---- the README table ------------------------------------------------------------------------
console.log('\n| row | tsops | sops 3.13.2 | tsops/sops | target |\n|---|---|---|---|---|')
for (const r of results) {
  const f = r.unit === 'bytes' ? (s) => `${(s.median / 1048576).toFixed(0)} MiB` : r.unit === 'calls' ? (s) => `${s.median}` : fmtMs
  console.log(`| ${r.name} | ${f(r.tsops)} | ${f(r.sops)} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`} | ${r.target === undefined ? '1 call' : `≤ ${r.target}x`} |`)
}
fs.writeFileSync(path.join(root, 'bench/.last.json'), JSON.stringify(results, null, 2))
