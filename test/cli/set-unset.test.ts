import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'

const { dir, age, env, encrypted, decrypted } = cliWorkspace('tsops-set-')

const FIFTY = Array.from({ length: 50 }, (_, i) => `key${i}: value-${i}\n`).join('')

/** Lines that differ between two versions of a file (same line count expected). */
function changedLines(before: string, after: string): string[] {
  const a = before.split('\n')
  const b = after.split('\n')
  expect(b.length).toBe(a.length)
  return b.filter((line, i) => line !== a[i])
}

describe('tsops set', () => {
  it('changes exactly the value, lastmodified and mac lines (git diff --numstat)', async () => {
    const repo = fs.mkdtempSync(path.join(dir, 'repo-'))
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...a], { cwd: repo, encoding: 'utf8' })
    git('init', '-q')
    const file = path.join(repo, 'secrets.yaml')
    fs.writeFileSync(file, FIFTY)
    expect((await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })).code).toBe(0)
    git('add', 'secrets.yaml')
    git('commit', '-q', '-m', 'init')
    // lastmodified has second precision: make sure it moves (the set runs with its clock 2 s ahead).
    const r = await runCli(['set', file, '["key17"]', '"changed"'], { env: env(), clockOffsetMs: 2_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(git('diff', '--numstat').trim()).toBe('3\t3\tsecrets.yaml')
    const diff = git('diff', '-U0')
    expect(diff).toMatch(/^\+key17: ENC\[/m)
    expect(diff).toMatch(/^\+ {4}lastmodified: /m)
    expect(diff).toMatch(/^\+ {4}mac: ENC\[/m)
    expect(await decrypted(file)).toBe(FIFTY.replace('key17: value-17', 'key17: changed'))
  })

  it('stores numbers as floats, strings, bools and null as given; objects keep their ints', async () => {
    const file = await encrypted('types.yaml', 'a: 1\n')
    for (const [p, v] of [['["num"]', '5'], ['["s"]', '"5"'], ['["b"]', 'true'], ['["z"]', 'null'], ['["o"]', '{"x": 1, "f": 1.5, "l": [1, "a"]}']]) {
      const r = await runCli(['set', file, p!, v!], { env: env() })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
    }
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toMatch(/^num: ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:float\]$/m)
    expect(text).toMatch(/^s: ENC\[.*type:str\]$/m)
    expect(text).toMatch(/^b: ENC\[.*type:bool\]$/m)
    expect(text).toMatch(/^z: null$/m)
    expect(text).toMatch(/^ {4}x: ENC\[.*type:int\]$/m)
    expect(text).toMatch(/^ {4}f: ENC\[.*type:float\]$/m)
    expect(await decrypted(file)).toBe('a: 1\nnum: 5\ns: "5"\nb: true\nz: null\no:\n    x: 1\n    f: 1.5\n    l:\n        - 1\n        - a\n')
  })

  it('rejects arrays and invalid JSON with exit 7, a bad index with exit 7, wrong arity with exit 100', async () => {
    const file = await encrypted('reject.yaml', 'a: 1\n')
    const before = fs.readFileSync(file)
    const arr = await runCli(['set', file, '["a"]', '[1, 2]'], { env: env() })
    expect(arr.code).toBe(7)
    expect(arr.stderr).toContain('Invalid --set value format')
    const bad = await runCli(['set', file, '["a"]', '{nope'], { env: env() })
    expect(bad.code).toBe(7)
    expect(bad.stderr).toContain('Value for --set is not valid JSON')
    const badIndex = await runCli(['set', file, '["a"', '1'], { env: env() })
    expect(badIndex.code).toBe(7)
    expect(badIndex.stderr).toContain('Invalid set index format')
    expect((await runCli(['set', file, '["a"]'], { env: env() })).code).toBe(100)
    expect((await runCli(['set', '--value-stdin', file, '["a"]', '1'], { env: env() })).code).toBe(100)
    expect((await runCli(['unset', file], { env: env() })).code).toBe(100)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })

  it('creates missing intermediate keys and appends at an index past the end', async () => {
    const file = await encrypted('create.yaml', 'list:\n    - a\n    - b\n')
    expect((await runCli(['set', file, '["x"]["yy"][0]["z"]', '"deep"'], { env: env() })).code).toBe(0)
    expect((await runCli(['set', file, '["list"][5]', '"c"'], { env: env() })).code).toBe(0)
    expect((await runCli(['set', file, '["list"][0]', '"A"'], { env: env() })).code).toBe(0)
    expect(await decrypted(file)).toBe('list:\n    - A\n    - b\n    - c\nx:\n    yy:\n        - z: deep\n')
  })

  it('reads the value from --value-file and --value-stdin', async () => {
    const file = await encrypted('vf.json', '{"a": "x"}\n')
    const valueFile = path.join(dir, 'value.json')
    fs.writeFileSync(valueFile, '"from a file"\n')
    expect((await runCli(['set', '--value-file', file, '["a"]', valueFile], { env: env() })).code).toBe(0)
    expect((await runCli(['set', '--value-stdin', file, '["b"]'], { env: env(), input: '{"num": 2}' })).code).toBe(0)
    expect(await decrypted(file)).toBe('{\n\t"a": "from a file",\n\t"b": {\n\t\t"num": 2\n\t}\n}\n')
  })

  it('--idempotent does not write when nothing changed; a float vs an int is a change', async () => {
    const file = await encrypted('idem.yaml', 'a: x\nnum: 5\n')
    const before = fs.readFileSync(file)
    // Clocks 2 s ahead: a write would show as a new lastmodified.
    const same = await runCli(['set', '--idempotent', file, '["a"]', '"x"'], { env: env(), clockOffsetMs: 2_000 })
    expect(same.code).toBe(0)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    // Without --idempotent the file is rewritten (new lastmodified), the value keeps its ciphertext.
    expect((await runCli(['set', file, '["a"]', '"x"'], { env: env(), clockOffsetMs: 2_000 })).code).toBe(0)
    const rewritten = fs.readFileSync(file, 'utf8')
    expect(changedLines(before.toString(), rewritten).map((l) => l.trim().split(':')[0])).toEqual(['lastmodified', 'mac'])
    const asFloat = await runCli(['set', '--idempotent', file, '["num"]', '5'], { env: env() })
    expect(asFloat.code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^num: ENC\[.*type:float\]$/m)
  })

  it('supports the legacy --set flag', async () => {
    const file = await encrypted('legacy.yaml', 'a:\n    b: old\n')
    const r = await runCli(['--set', '["a"]["b"] "new"', file], { env: env(), cwd: dir })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(await decrypted(file)).toBe('a:\n    b: new\n')
    expect((await runCli(['--set', '["a"]["b"]"new"', file], { env: env(), cwd: dir })).code).toBe(7)
  })

  it('refuses to create a top-level sops key (exit 203)', async () => {
    const file = await encrypted('sopskey.yaml', 'a: 1\n')
    expect((await runCli(['set', file, '["sops"]', '"x"'], { env: env() })).code).toBe(203)
  })
})

describe('tsops unset', () => {
  it('removes a key and a list element; only that value, lastmodified and mac change', async () => {
    const file = await encrypted('unset.yaml', 'a: 1\nb: 2\nlist:\n    - x\n    - y\n    - z\nc: 3\n')
    const before = fs.readFileSync(file, 'utf8')
    expect((await runCli(['unset', file, '["b"]'], { env: env(), clockOffsetMs: 2_000 })).code).toBe(0)
    const after = fs.readFileSync(file, 'utf8').split('\n')
    const removed = before.split('\n').filter((l) => !after.includes(l))
    const added = after.filter((l) => !before.split('\n').includes(l))
    expect(removed.map((l) => l.trim().split(':')[0])).toEqual(['b', 'lastmodified', 'mac'])
    expect(added.map((l) => l.trim().split(':')[0])).toEqual(['lastmodified', 'mac'])
    expect((await runCli(['unset', file, '["list"][1]'], { env: env() })).code).toBe(0)
    expect(await decrypted(file)).toBe('a: 1\nlist:\n    - x\n    - z\nc: 3\n')
  })

  it('a missing key is "Key not found" exit 1, or success with --idempotent and no write', async () => {
    const file = await encrypted('missing.yaml', 'a: 1\nl:\n    - x\n')
    const before = fs.readFileSync(file)
    const r = await runCli(['unset', file, '["nope"]'], { env: env() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Key not found: nope')
    const idx = await runCli(['unset', file, '["l"][3]'], { env: env() })
    expect(idx.code).toBe(1)
    expect(idx.stderr).toContain('Index 3 out of bounds')
    const idem = await runCli(['unset', '--idempotent', file, '["nope"]'], { env: env() })
    expect(idem.code).toBe(0)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    expect((await runCli(['unset', file, '["a"'], { env: env() })).code).toBe(7)
  })
})

describe('tree set/unset semantics (src/tree)', () => {
  it('replaces a scalar in the way, skips comments when indexing lists, compares like sops', async () => {
    const { Comment, TreeMap, TreeSeq } = await import('../../src/core/tree.js')
    const { setValue } = await import('../../src/tree/set.js')
    const { unsetValue } = await import('../../src/tree/unset.js')
    const { treeEquals } = await import('../../src/tree/equals.js')
    const root = new TreeMap([
      { key: 'scalar', value: 'x' },
      { key: 'list', value: new TreeSeq([new Comment(' c'), 'a', 'b']) },
    ])
    expect(setValue(root, ['scalar', 'inner'], 1n)).toBe(true)
    expect(treeEquals(root.get('scalar')!, new TreeMap([{ key: 'inner', value: 1n }]))).toBe(true)
    expect(setValue(root, ['list', 0], 'A')).toBe(true)
    expect((root.get('list') as InstanceType<typeof TreeSeq>).items).toEqual([new Comment(' c'), 'A', 'b'])
    expect(setValue(root, ['list', 0], 'A')).toBe(false)
    expect(treeEquals(5, 5n)).toBe(false)
    expect(treeEquals(Number.NaN, Number.NaN)).toBe(false)
    unsetValue(root, ['list', 1])
    expect((root.get('list') as InstanceType<typeof TreeSeq>).items).toEqual([new Comment(' c'), 'A'])
    expect(() => setValue(root, ['list', 'k'], 1)).toThrow(/is a key, but the value there is a list/)
    expect(() => unsetValue(root, ['scalar', 'inner', 'deeper'])).toThrow(/Unsupported type: int for item 'deeper'/)
  })
})
