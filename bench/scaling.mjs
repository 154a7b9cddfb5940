// Linear time in the input: for every reader, writer and rule, the same shape of input at n
// and at 10·n units, timed in this process (median of a few runs after a warm-up). A ratio
// near 10 is linear (GC and a busy machine move it by a few either way); a quadratic spot
// shows ~100. Each row names what it stresses (the shapes that used to be
// superlinear: `[[a]]` headers, one INI section with many keys, long comment runs under
// encrypted_comment_regex, ...). `node bench/scaling.mjs` runs only these rows.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './measure.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { loadFormat } = await import(path.join(root, 'dist/lib/formats/registry.js'))
const { ValueCipher } = await import(path.join(root, 'dist/lib/core/cipher.js'))
const { LeafSelector } = await import(path.join(root, 'dist/lib/core/rules.js'))
const { computeMac, encryptBranches, decryptBranches } = await import(path.join(root, 'dist/lib/core/walk.js'))
const { randomBytes } = await import('node:crypto')

const lines = (n, line) => Array.from({ length: n }, (_, i) => line(i)).join('\n') + '\n'

/** [format, what, n, text(n)]: n is the base size, the row compares n with 10·n. */
const CASES = [
  ['yaml', 'flat keys', 2_000, (n) => lines(n, (i) => `key_${i}: value-${i}`)],
  ['yaml', 'keys with comments (full reader)', 1_000, (n) => lines(n, (i) => `# note ${i}\nkey_${i}: value-${i} # inline`)],
  ['yaml', 'one long sequence', 3_000, (n) => 'list:\n' + lines(n, (i) => `  - item-${i}`)],
  ['yaml', 'nested maps in a sequence', 600, (n) => 'list:\n' + lines(n, (i) => `  - name: n${i}\n    tags: [a, b]\n    meta: {k: ${i}}`)],
  ['yaml', 'values broken by U+2028', 1_000, (n) => lines(n, (i) => `key_${i}: 'first\u2028    second ${i}'`)],
  ['yaml', 'one long block scalar', 5_000, (n) => 'cert: |\n' + lines(n, (i) => `    line ${i} of a long certificate body`)],
  ['yaml', 'many documents', 500, (n) => Array.from({ length: n }, (_, i) => `k: v${i}\n`).join('---\n')],
  ['json', 'flat keys', 3_000, (n) => '{' + Array.from({ length: n }, (_, i) => `"key_${i}": "value-${i}"`).join(',\n') + '}\n'],
  ['json', 'one long array', 3_000, (n) => '{"list": [' + Array.from({ length: n }, (_, i) => `"item-${i}"`).join(', ') + ']}\n'],
  ['json', 'one long escaped string', 50_000, (n) => `{"s": "${'a\\n\\u00e9\\"'.repeat(n)}"}\n`],
  ['toml', 'flat keys', 1_000, (n) => lines(n, (i) => `key_${i} = "value-${i}"`)],
  ['toml', '[[a]] array-of-tables headers', 1_000, (n) => lines(n, (i) => `[[a]]\nx = ${i}`)],
  ['toml', '[table] headers', 1_000, (n) => lines(n, (i) => `[t${i}]\nx = ${i}`)],
  ['toml', 'dotted keys into one table', 1_000, (n) => lines(n, (i) => `a.k${i} = ${i}`)],
  ['toml', 'keys with comments', 1_000, (n) => lines(n, (i) => `# note ${i}\nkey_${i} = ${i} # inline`)],
  ['toml', 'one long string', 500_000, (n) => `s = "${'word '.repeat(n / 5)}"\n`],
  ['yaml', 'one long quoted string', 300_000, (n) => `s: "${'word '.repeat(n / 5)}"\n`],
  ['ini', 'one long value', 500_000, (n) => `[s]\nk = ${'word '.repeat(n / 5)}x\n`],
  ['dotenv', 'one long value', 500_000, (n) => `K=${'word '.repeat(n / 5)}\n`],
  ['toml', 'one long array', 3_000, (n) => 'list = [' + Array.from({ length: n }, (_, i) => String(i)).join(', ') + ']\n'],
  ['ini', 'one section with many keys', 3_000, (n) => '[s]\n' + lines(n, (i) => `key_${i} = value-${i}`)],
  ['ini', 'many sections', 2_000, (n) => lines(n, (i) => `[s${i}]\nkey = ${i}`)],
  ['ini', 'keys with comments', 2_000, (n) => '[s]\n' + lines(n, (i) => `; note ${i}\nkey_${i} = ${i}`)],
  ['dotenv', 'flat keys', 5_000, (n) => lines(n, (i) => `KEY_${i}=value-${i}`)],
  ['dotenv', 'flattened sops metadata list', 20_000, (n) => 'A=1\n' + lines(n, (i) => `sops_x__list_${i}=v${i}`)],
]

function time(fn, runs = 3) {
  const ms = (k) => {
    const t = process.hrtime.bigint()
    for (let i = 0; i < k; i++) fn()
    return Number(process.hrtime.bigint() - t) / 1e6 / k
  }
  // A call of a millisecond or two is mostly timer, JIT and GC noise: each sample repeats it
  // until the sample lasts ~20 ms, and reports the time per call.
  const repeats = Math.max(1, Math.ceil(20 / Math.max(ms(1), 0.01)))
  const ts = []
  for (let i = 0; i < runs; i++) ts.push(ms(repeats))
  return median(ts)
}

/** Parse, emit, and a full encrypt + decrypt walk (rules, MAC, AAD) of one text. */
async function roundTrip(formatName, rules = {}) {
  const format = await loadFormat(formatName)
  const cipher = new ValueCipher(randomBytes(32))
  const selector = new LeafSelector(rules)
  return (text) => {
    const doc = format.parse(Buffer.from(text))
    if (doc.metadata === undefined) {
      encryptBranches(doc.branches, cipher, selector)
      decryptBranches(doc.branches, cipher, selector, { decodeLiteral: format.decodeLiteral?.bind(format) })
    }
    format.emit(doc)
  }
}

export async function benchScaling(report) {
  const rows = []
  for (const [formatName, what, n, make] of CASES) {
    const run = await roundTrip(formatName)
    const small = make(n)
    const large = make(10 * n)
    rows.push(report(`${formatName}: ${what}, ${(10 * n).toLocaleString('en')} vs ${n.toLocaleString('en')} (${(large.length / 1e6).toFixed(1)} MB)`, time(() => run(large), 2), time(() => run(small), 5)))
  }
  // Rules: every leaf's decision used to re-test every key above it and every comment before
  // it. Timed through computeMac (decisions and hashing, no AAD: an AAD is the whole path by
  // sops's format, so encrypting a comb of depth d hashes d² bytes whatever the rules).
  const rules = [
    ['encrypted_regex over a comb 10x deeper (a leaf at every level)', { encryptedRegex: '^secret' }, 'json', 900, (n) => '{"leaf": "v", "k": '.repeat(n) + '{}' + '}'.repeat(n) + '\n'],
    ['unencrypted_regex over a comb 10x deeper', { unencryptedRegex: '^public' }, 'json', 900, (n) => '{"leaf": "v", "k": '.repeat(n) + '{}' + '}'.repeat(n) + '\n'],
    ['encrypted_comment_regex after a 10x longer comment run', { encryptedCommentRegex: 'sops:enc' }, 'yaml', 1_000, (n) => lines(n, (i) => `# comment ${i}`) + 'map:\n' + lines(n, (i) => `  k${i}: v`)],
    ['unencrypted_comment_regex over a 10x longer comment run', { unencryptedCommentRegex: 'sops:plain' }, 'yaml', 1_000, (n) => 'map:\n' + lines(n, (i) => `  # comment ${i}`) + lines(n, (i) => `  k${i}: v`)],
  ]
  for (const [what, ruleSet, formatName, n, make] of rules) {
    const format = await loadFormat(formatName)
    const selector = new LeafSelector(ruleSet)
    const run = (text) => computeMac(format.parse(Buffer.from(text)).branches, selector)
    rows.push(report(`rules: ${what}, ${(10 * n).toLocaleString('en')} vs ${n.toLocaleString('en')}`, time(() => run(make(10 * n)), 2), time(() => run(make(n)), 5)))
  }
  // The ENC[…] value parser on a hostile value (its regex once took 18 s on 6 KB): rejected, in
  // time linear in the value (was a test's wall-clock bound in test/reliability/fuzz.test.ts).
  const { parseEncrypted } = await import(path.join(root, 'dist/lib/core/cipher.js'))
  const hostile = (n) => 'ENC[AES256_GCM,data:' + ',iv:,tag:,type:x'.repeat(n)
  const reject = (text) => () => {
    try {
      parseEncrypted(text)
    } catch {
      return
    }
    throw new Error('bench/scaling: the hostile ENC value was accepted')
  }
  rows.push(report('ENC value parser: a hostile value, 1,000,000 vs 100,000 repeats (rejected)', time(reject(hostile(1_000_000)), 2), time(reject(hostile(100_000)), 5)))
  return rows
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchScaling((name, value, baseline) => {
    console.log(`${name}: ${value.toFixed(1)} ms vs ${baseline.toFixed(1)} ms = ${(value / baseline).toFixed(1)}x (linear: ~10x)`)
  })
}
