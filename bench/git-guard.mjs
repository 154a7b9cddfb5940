#!/usr/bin/env node
// The pre-commit guard (`tsops git pre-commit`) over 1,000 staged encrypted files, timed against
// `git diff --cached --name-only` in the same repository (the least any guard must do), as a
// ratio so the number means the same on a slow or busy machine. Requires `npm run build`.
//
//   node bench/git-guard.mjs                       # prints the ratio and seconds
//   import { benchGitGuard } from './git-guard.mjs' // -> { guardMs, baselineMs }
import { spawnSync } from 'node:child_process'
import { median, timeProcess } from './measure.mjs'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')



function timeAll(fn) {
  const t = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t) / 1e6
}

function git(args, options) {
  const r = spawnSync('git', args, { ...options, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

/** A repository with `files` staged encrypted YAML files (one data key, wrapped once for age). */
async function stagedRepo(work, files, lib) {
  const load = (p) => import(pathToFileURL(path.join(lib, p)).href)
  const [{ loadFormat }, { sealDocument }, { wrapDataKey }, { keySourceFromSpec }, { generateAgeIdentity }] = await Promise.all([
    load('formats/registry.js'),
    load('pipeline/encrypt.js'),
    load('keys/datakey.js'),
    load('keys/registry.js'),
    load('keys/age.js'),
  ])
  const { recipient } = await generateAgeIdentity()
  const repo = path.join(work, 'repo')
  fs.mkdirSync(repo)
  const env = { PATH: process.env.PATH, HOME: work, GIT_CONFIG_NOSYSTEM: '1' }
  git(['init', '-q', '-b', 'main'], { cwd: repo, env })
  fs.writeFileSync(path.join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    age: ${recipient}\n`)
  const yaml = await loadFormat('yaml')
  const dataKey = randomBytes(32)
  const wrapped = await wrapDataKey(dataKey, [[await keySourceFromSpec('age', recipient)]], 0, { env: {} })
  for (let i = 0; i < files; i++) {
    const doc = yaml.parse(Buffer.from(`service_${i}:\n    user: user-${i}\n    password: password-${i}\n    port: ${5000 + i}\n    debug_unencrypted: true\n`))
    sealDocument(yaml, doc, dataKey, { keyGroups: wrapped.groups, shamirThreshold: wrapped.threshold, rules: { unencryptedSuffix: '_unencrypted' } })
    const file = path.join(repo, 'secrets', `team-${i % 10}`, `service-${i}.yaml`)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, yaml.emit(doc))
  }
  git(['add', '.'], { cwd: repo, env })
  return { repo, env }
}

/**
 * @param {{ files?: number, runs?: number, cli?: string, lib?: string, sops?: string, sopsRuns?: number }} options
 *   sops: the real sops binary, to time a loop of `sops filestatus` over the staged files too
 * @returns {Promise<{ guardMs: number, baselineMs: number, sopsLoop?: number[], tsopsRuns?: number[] }>} medians over `runs`
 */
export async function benchGitGuard(options = {}) {
  const files = options.files ?? 1000
  const runs = options.runs ?? 5
  const cli = options.cli ?? process.env.TSOPS_CLI ?? path.join(root, 'dist/cli/tsops.cjs')
  const lib = options.lib ?? path.join(root, 'dist/lib')
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-bench-guard-'))
  try {
    const { repo, env } = await stagedRepo(work, files, lib)
    const opts = { cwd: repo, env }
    timeProcess(process.execPath, [cli, 'git', 'pre-commit'], opts) // warm the page cache
    const baseline = []
    const guard = []
    for (let i = 0; i < runs; i++) {
      baseline.push(timeProcess('git', ['diff', '--cached', '--name-only'], opts))
      guard.push(timeProcess(process.execPath, [cli, 'git', 'pre-commit'], opts))
    }
    const result = { guardMs: median(guard), baselineMs: median(baseline) }
    if (options.sops) {
      // What a sops user's hook does: `sops filestatus` on every staged file matching the rules.
      const staged = git(['diff', '--cached', '--name-only', '-z'], opts).split('\0').filter((f) => /^secrets\/.*\.yaml$/.test(f))
      const loop = []
      const tsopsAgain = []
      for (let i = 0; i < (options.sopsRuns ?? 2); i++) {
        loop.push(timeAll(() => staged.forEach((f) => timeProcess(options.sops, ['filestatus', f], opts))))
        tsopsAgain.push(timeProcess(process.execPath, [cli, 'git', 'pre-commit'], opts))
      }
      Object.assign(result, { sopsLoop: loop, tsopsRuns: [...guard, ...tsopsAgain] })
    }
    return result
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { guardMs, baselineMs } = await benchGitGuard()
  console.log(
    `git pre-commit guard (1,000 staged encrypted files): ${(guardMs / 1000).toFixed(2)} s vs git diff --cached --name-only ` +
      `${(baselineMs / 1000).toFixed(3)} s = ${(guardMs / baselineMs).toFixed(1)}x`,
  )
}
