#!/usr/bin/env node
// CPU profiles (node --cpu-prof) of the rows where tsops is slower than sops, summarised: where
// a process's JavaScript time goes (node's own start-up, compiling the bundle, tsops's work,
// packages), and the heaviest frames inclusive. Requires `npm run build`.
//
//   node bench/profile.mjs [cold|textconv|kms|bulk ...]     (default: cold textconv kms)
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { benchEnv, cli, root } from './sops.mjs'

/** Self time per bucket (node internals, the tsops bundle, each package) and the top frames by inclusive time. */
export function summarize(file, top = 15) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'))
  const self = new Map()
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
  const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const buckets = new Map()
  const inclusive = new Map()
  for (const [id, us] of self) {
    const url = nodes.get(id).callFrame.url
    const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]
    const bucket = url === '' ? `(${nodes.get(id).callFrame.functionName || 'native'})` : pkg ? `package ${pkg}` : url.startsWith('node:') ? 'node internals' : /dist\/cli\//.test(url) ? `tsops ${url.split('dist/cli/')[1]}` : url
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us)
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = nodes.get(cur).callFrame
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + us)
    }
  }
  const ms = (us) => `${(us / 1000).toFixed(1).padStart(7)} ms`
  const lines = [`  ${((p.endTime - p.startTime) / 1000).toFixed(1)} ms profiled; self time by where the code comes from:`]
  for (const [b, us] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, 8)) lines.push(`  ${ms(us)}  ${b}`)
  lines.push('  heaviest frames (inclusive):')
  for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).filter(([k]) => !/^\(root\)|run_main|cjs\/loader/.test(k)).slice(0, top)) lines.push(`  ${ms(us)}  ${k}`)
  return lines.join('\n')
}

/** Profile one tsops process (after 3 unprofiled runs warm the code cache), return the summary. */
function profileRun(work, name, args, options) {
  for (let i = 0; i < 3; i++) spawnSync(process.execPath, [cli, ...args], { ...options, stdio: 'ignore' })
  const dir = path.join(work, `prof-${name}`)
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, cli, ...args], { ...options, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`${name}: tsops ${args.join(' ')} failed: ${r.stderr}`)
  return summarize(path.join(dir, fs.readdirSync(dir)[0]))
}

export async function profiles(rows) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-profile-'))
  try {
    const lib = await import(path.join(root, 'dist/lib/index.js'))
    const { env, recipient } = await benchEnv(work)
    // The name git gives a textconv temp file: XXXXXX_<basename>.
    const small = path.join(work, 'Ab12Cd_app.yaml')
    fs.writeFileSync(small, await lib.encrypt('db:\n    user: app\n    password: hunter2\nport: 5432\n', { format: 'yaml', age: [recipient] }))
    const out = []
    if (rows.includes('cold')) out.push(`cold tsops decrypt of a small age YAML\n${profileRun(work, 'cold', ['decrypt', small], { env })}`)
    if (rows.includes('textconv')) out.push(`one tsops git textconv call (git log -p makes one per file version)\n${profileRun(work, 'textconv', ['git', 'textconv', small], { env })}`)
    if (rows.includes('bulk')) {
      const files = []
      for (let i = 0; i < 200; i++) {
        files.push(path.join(work, `f${i}.yaml`))
        fs.writeFileSync(files[i], await lib.encrypt(`a:\n    password: p${i}\n`, { format: 'yaml', age: [recipient] }))
      }
      out.push(`tsops decrypt of 200 small files --output-dir\n${profileRun(work, 'bulk', ['decrypt', '--output-dir', 'out', ...files.map((f) => path.basename(f))], { env, cwd: work })}`)
    }
    if (rows.includes('kms')) {
      const { startKmsServerThread, testKeyArn, TEST_CREDENTIALS } = await import(pathToFileURL(path.join(root, 'test/helpers/servers/aws-kms-server.mjs')).href)
      const server = await startKmsServerThread({ delayMs: 20 })
      try {
        const kmsEnv = { ...env, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_ENDPOINT_URL_KMS: server.url }
        const plain = path.join(work, 'plain.yaml')
        fs.writeFileSync(plain, 'a: b\n')
        const args = ['encrypt', '--kms', testKeyArn('bench-0', 'eu-central-1'), '--output', path.join(work, 'kms.yaml'), plain]
        out.push(`tsops encrypt --kms (1 key, loopback KMS answering after 20 ms)\n${profileRun(work, 'kms', args, { env: kmsEnv })}`)
      } finally {
        await server.close()
      }
    }
    return out.join('\n\n')
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const rows = process.argv.slice(2)
  console.log(await profiles(rows.length ? rows : ['cold', 'textconv', 'kms']))
}
