#!/usr/bin/env node
// tsops benchmarks. Every target is a ratio against a baseline measured in the same run, so
// the numbers mean the same on a slow or a busy machine. Requires `npm run build` first.
import { spawnSync } from 'node:child_process'
import { median, timeProcess } from './measure.mjs'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cli = path.join(root, 'dist/cli/tsops.cjs')
const lib = await import(path.join(root, 'dist/lib/index.js'))
const { parseDocument } = await import('yaml')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-bench-'))
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }))

const results = []
function report(name, value, baseline, target, unit = 'ms') {
  const ratio = value / baseline
  results.push({ name, value, baseline, ratio, target })
  const ok = target === undefined ? '' : ratio <= target ? '  OK' : '  ABOVE TARGET'
  console.log(`${name}: ${value.toFixed(1)} ${unit} vs baseline ${baseline.toFixed(1)} ${unit} = ${ratio.toFixed(2)}x${target ? ` (target <= ${target}x)` : ''}${ok}`)
}



// ---- 1. cold start: tsops decrypt of a small age-encrypted YAML vs `node -e 0` ----------------
const { identity, recipient } = await import(path.join(root, 'dist/lib/keys/age.js')).then((m) => m.generateAgeIdentity())
const small = path.join(work, 'small.yaml')
fs.writeFileSync(small, await lib.encrypt('db:\n    user: app\n    password: hunter2\nport: 5432\n', { format: 'yaml', age: [recipient] }))
const env = { PATH: process.env.PATH, HOME: work, SOPS_AGE_KEY: identity }
const coldRuns = 21
const nodeTimes = []
const tsopsTimes = []
timeProcess(process.execPath, [cli, 'decrypt', small], { env }) // warm the page cache
for (let i = 0; i < coldRuns; i++) {
  nodeTimes.push(timeProcess(process.execPath, ['-e', '0'], { env }))
  tsopsTimes.push(timeProcess(process.execPath, [cli, 'decrypt', small], { env }))
}
report('cold tsops decrypt (small age YAML) vs node -e 0', median(tsopsTimes), median(nodeTimes), 1.6)

// ---- 2. 10,000-leaf YAML: encrypt+decrypt vs yaml parse+emit ---------------------------------
function bigYaml(leaves) {
  const lines = []
  for (let s = 0; s < leaves / 10; s++) {
    lines.push(`service_${s}:`)
    for (let k = 0; k < 10; k++) lines.push(`    key_${k}: value-${s}-${k}-${'x'.repeat(k)}`)
  }
  return lines.join('\n') + '\n'
}
const text = bigYaml(10_000)
const ageKey = { format: 'yaml', age: [recipient] }
async function timeAsync(fn, runs = 7, warmup = 2) {
  // Untimed warm-up runs for both sides alike: the comparison is of steady-state throughput.
  for (let i = 0; i < warmup; i++) await fn()
  const ts = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    await fn()
    ts.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return median(ts)
}
const baselineYaml = await timeAsync(() => parseDocument(text).toString({ indent: 4, lineWidth: 0 }))
const roundTrip = await timeAsync(async () => {
  const enc = await lib.encrypt(text, ageKey)
  await lib.decrypt(enc, { format: 'yaml', output: 'text', ageIdentities: [identity] })
})
report('encrypt+decrypt 10,000-leaf YAML vs yaml parse+emit', roundTrip, baselineYaml, 3)

// ---- 3. 64 MiB binary: encrypt+decrypt vs raw AES-256-GCM; peak memory ---------------------
const { benchBinary } = await import('./binary.mjs')
const bin = benchBinary()
report('encrypt+decrypt 64 MiB binary vs raw AES-256-GCM', bin.ms, bin.rawMs, 4)
console.log(`  peak RSS of that process (library round trip, holding plaintext, ciphertext text and result at once): ${(bin.peakRss / 1048576).toFixed(0)} MiB for a ${bin.size / 1048576} MiB file (${(bin.peakRss / bin.size).toFixed(1)}x)`)
for (const [op, rss] of Object.entries(bin.cliPeakRss)) {
  console.log(`  peak RSS of \`tsops ${op}\` on the ${bin.size / 1048576} MiB file: ${(rss / 1048576).toFixed(0)} MiB (${(rss / bin.size).toFixed(1)}x the file)`)
}

// ---- 4. KMS fan-out: encrypt to 10 KMS keys vs 1, loopback KMS --------------------------------
const { benchKms } = await import('./kms.mjs')
const kms = await benchKms()
report('encrypt to 10 KMS keys vs to 1 key (loopback KMS, 20 ms per call)', kms.tenMs, kms.oneMs, 1.5)

// ---- 5. pre-commit guard over 1,000 staged encrypted files ---------------------------------
const { benchGitGuard } = await import('./git-guard.mjs')
const guard = await benchGitGuard()
results.push({ name: 'git guard 1,000 staged files', value: guard.guardMs, baseline: guard.baselineMs, ratio: guard.guardMs / guard.baselineMs })
console.log(
  `pre-commit guard over 1,000 staged encrypted files: ${(guard.guardMs / 1000).toFixed(2)} s (target < 3 s${guard.guardMs < 3000 ? ', OK' : ', ABOVE TARGET'}); baseline git diff --cached --name-only: ${guard.baselineMs.toFixed(1)} ms`,
)

// ---- 6. rule regexes are linear: 10x the hostile comment lines costs about 10x -----------------
const { benchHostileRegex } = await import('./hostile-regex.mjs')
const hostile = await benchHostileRegex()
report(
  `keyless check of ${hostile.lines * 10} vs 10 x ${hostile.lines} hostile comment lines (1.0 = linear, 10 = quadratic)`,
  hostile.largeMs,
  hostile.smallMs * 10,
  1.5,
)

// ---- 7. start-up is unchanged by the cloud key sources: an age-only decrypt loads none -------
const importLog = path.join(work, 'imports.log')
spawnSync(process.execPath, ['-r', path.join(root, 'bench/require-log.cjs'), cli, 'decrypt', small], {
  env: { ...env, TSOPS_IMPORT_LOG: importLog },
})
const imported = fs.readFileSync(importLog, 'utf8').split('\n').filter(Boolean)
const sdkModules = imported.filter((u) => /@aws-sdk|@smithy|@google-cloud|@azure|@grpc|simple-git|re2js|age-encryption/.test(u))
console.log(
  `age-only decrypt requires ${imported.length} modules (${[...new Set(imported)].join(', ')}); cloud SDKs among them: ${sdkModules.length === 0 ? 'none' : sdkModules.join(', ')} (its cold start is (1) above)`,
)

// ---- 7. linear time: every reader, writer and rule at n and 10·n (target: ~10x, not ~100x) --
const { benchScaling } = await import('./scaling.mjs')
await benchScaling((name, value, baseline) => report(`linear: ${name}`, value, baseline, 20))

fs.writeFileSync(path.join(root, 'bench/.last.json'), JSON.stringify(results, null, 2))
