#!/usr/bin/env node
// Rule regexes cost time linear in the file: the keyless check (what the pre-commit guard runs
// on a staged file) of a file with N comment lines of 2,000 characters under a costly
// `unencrypted_comment_regex`, at N and 10N lines. Linear means the 10N run costs about 10x;
// the row reports time(10N) / (10 x time(N)), so 1.0 is linear and 10 would be quadratic.
// Requires `npm run build`.
//
//   node bench/hostile-regex.mjs                         # prints both times and the ratio
//   import { benchHostileRegex } from './hostile-regex.mjs' // -> { smallMs, largeMs, lines }
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median } from './measure.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

async function modules(lib) {
  const load = (p) => import(pathToFileURL(path.join(lib, p)).href)
  const [{ loadFormat }, { sealDocument }, { checkBytes }] = await Promise.all([load('formats/registry.js'), load('pipeline/encrypt.js'), load('check/checker.js')])
  return { yaml: await loadFormat('yaml'), sealDocument, checkBytes }
}

/** An encrypted YAML file of `lines` long comments; the comments never match the rule. */
function hostileFile(m, lines) {
  const text = Array.from({ length: lines }, (_, i) => `# ${`line ${i} lorem ipsum dolor sit amet `.repeat(60).slice(0, 2000)}`).join('\n') + '\nkey: value\n'
  const doc = m.yaml.parse(Buffer.from(text))
  const keyGroups = [[{ type: 'age', fields: { recipient: 'age1bench', enc: 'bench' } }]]
  m.sealDocument(m.yaml, doc, randomBytes(32), { keyGroups, shamirThreshold: 0, rules: { unencryptedCommentRegex: '[a-z]{1000}[0-9]' } })
  return m.yaml.emit(doc)
}

async function timeCheck(m, bytes, runs) {
  await m.checkBytes(bytes, 'hostile.yaml') // warm-up
  const ts = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    const report = await m.checkBytes(bytes, 'hostile.yaml')
    ts.push(Number(process.hrtime.bigint() - t) / 1e6)
    if (!report.ok) throw new Error(`the hostile file should pass the check: ${JSON.stringify(report.problems)}`)
  }
  return median(ts)
}

/** @returns {Promise<{ smallMs: number, largeMs: number, lines: number }>} */
export async function benchHostileRegex(options = {}) {
  const lines = options.lines ?? 200
  // check/ is not part of the library: the whole tree's build (dist/internal) has it.
  const m = await modules(options.lib ?? path.join(root, 'dist/internal'))
  const small = hostileFile(m, lines)
  const large = hostileFile(m, lines * 10)
  return { smallMs: await timeCheck(m, small, 7), largeMs: await timeCheck(m, large, 3), lines }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { smallMs, largeMs, lines } = await benchHostileRegex()
  console.log(`keyless check, ${lines} vs ${lines * 10} hostile comment lines: ${smallMs.toFixed(1)} ms vs ${largeMs.toFixed(1)} ms = ${(largeMs / smallMs).toFixed(1)}x for 10x the input`)
}
