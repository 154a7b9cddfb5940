// yaml.v3's other line breaks (NEL U+0085, LS U+2028, PS U+2029) and the block scalar that ends
// the file without a line break: tsops reads what its writer (and real sops 3.13.2) writes, and
// writes what real sops writes. The expected texts below were produced by real sops 3.13.2
// (`sops encrypt` of the escaped values, then `sops decrypt`).
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { Comment, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { yamlFormat } from '../../src/formats/yaml.js'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'

const { dir, age, env, encrypted, decrypted } = cliWorkspace('tsops-yaml-breaks-')

function parse(text: string): TreeMap {
  return yamlFormat.parse(Buffer.from(text)).branches[0]!
}

function emit(tree: TreeMap): string {
  return Buffer.from(yamlFormat.emit({ branches: [tree], metadata: undefined })).toString('utf8')
}

function map(entries: [string, Value][]): TreeMap {
  return new TreeMap(entries.map(([key, value]) => ({ key, value })))
}

/** What real sops 3.13.2 decrypts to for the values in VALUES (in that order). */
const WRITTEN_BY_SOPS =
  "a: 'a\u2028    b'\n" +
  'b: |\n' +
  '    a\n' +
  '    b\u2028    c\n' +
  "c: 'a\u2028'\n" +
  "d: '\u2028'\n" +
  "e: 'a\u2028\u2028    b'\n" +
  'f: "a \\Lb"\n' +
  'g: "a\\L b"\n' +
  'h: |-\n' +
  '    a\u2029\n' +
  '    b\n' +
  'i: "x\\Ny\\Lz"\n' +
  'j: |-\n' +
  '    a\n' +
  '    b\u2028    c\n' +
  "k: 'this is a rather long value with separators\u2028    that goes on and on and on and on and on and on and on and on past eighty columns'\n" +
  "? 'k\u2028    ey'\n" +
  ': 1\n' +
  "? 'k2\u2028'\n" +
  ':   - 1\n' +
  "    - '\u2029'\n" +
  'l: |4\n' +
  '\u2028    a\n' +
  'm: |\n' +
  '    a\n' +
  '\u2028    b\n' +
  '"n": |\n' +
  '    a\u2028\n' +
  '    b\n' +
  'o: |\n' +
  '    a b\n' +
  '     c\u2028\n' +
  '      d\n' +
  't:\n' +
  '    - |+\n' +
  '      a\n' +
  "\u2028    - 'x\u2029'\n" +
  "z: '\u2028\u2028'\n"

const VALUES = map([
  ['a', 'a\u2028b'],
  ['b', 'a\nb\u2028c\n'],
  ['c', 'a\u2028'],
  ['d', '\u2028'],
  ['e', 'a\u2028\u2028b'],
  ['f', 'a \u2028b'],
  ['g', 'a\u2028 b'],
  ['h', 'a\u2029\nb'],
  ['i', 'x\u0085y\u2028z'],
  ['j', 'a\nb\u2028c'],
  ['k', 'this is a rather long value with separators\u2028that goes on and on and on and on and on and on and on and on past eighty columns'],
  ['k\u2028ey', 1n],
  ['k2\u2028', new TreeSeq([1n, '\u2029'])],
  ['l', '\u2028a\n'],
  ['m', 'a\n\u2028b\n'],
  ['n', 'a\u2028\nb\n'],
  ['o', 'a b\n c\u2028\n  d\n'],
  ['t', new TreeSeq(['a\n\u2028', 'x\u2029'])],
  ['z', '\u2028\u2028'],
])

describe('YAML: NEL, LS and PS are line breaks, as in yaml.v3', () => {
  it('reads what real sops writes for values and keys holding them', () => {
    expect(parse(WRITTEN_BY_SOPS)).toStrictEqual(VALUES)
  })

  it('writes those values byte for byte as real sops does', () => {
    expect(emit(VALUES)).toBe(WRITTEN_BY_SOPS)
  })

  it('folds a break inside quotes as libyaml does: LS/PS kept, NEL and blanks around a break folded', () => {
    const text = 'a: "x  \u2028   y"\nb: "x\u0085y"\nc: \'p\u2029\n\n  q\'\nd: "e\\\u2028   f"\ne: "s \u0085 \u0085 t"\n'
    expect(parse(text)).toStrictEqual(map([['a', 'x\u2028y'], ['b', 'x y'], ['c', 'p\u2029\n\nq'], ['d', 'ef'], ['e', 's\nt']]))
  })

  it('a break in a plain scalar, a block scalar or a comment breaks the line there', () => {
    // What real sops reads there too (it writes the comment back on a line of its own).
    const withComment = new TreeMap([{ key: 'a', value: 'x\u2028y' }, { key: 'b', value: 'p\u2028q\u2029' }, new Comment(' c'), { key: 'd', value: 1n }])
    expect(parse('a: x\u2028  y\nb: |\n  p\u2028  q\u2029\n# c\u2028d: 1\n')).toStrictEqual(withComment)
    expect(parse('a: 1\u2028b: 2\u0085c: 3\n')).toStrictEqual(map([['a', 1n], ['b', 2n], ['c', 3n]]))
  })

  it('refuses a plain value continued at column 0 after LS, as yaml.v3 does', () => {
    expect(() => parse('plain: a\u2028b\n')).toThrow(/unmarshaling input YAML/)
  })

  it('duplicate keys are compared by their value as yaml.v3 reads it', () => {
    expect(Array.from(parse("? 'k\u2028 x'\n: 1\n? 'k\u2029 x'\n: 2\n").entries(), (e) => e.key)).toStrictEqual(['k\u2028x', 'k\u2029x'])
  })
})

describe('YAML: a block scalar that ends the file without a line break', () => {
  it('keeps no final newline, as yaml.v3 (clip, keep and folded alike)', () => {
    expect(parse('multiline: |\n  multi\n  line').get('multiline')).toBe('multi\nline')
    expect(parse('m: |+\n  multi\n  line').get('m')).toBe('multi\nline')
    expect(parse('m: >\n  multi\n  line').get('m')).toBe('multi line')
    expect(parse('m: |\n  a\n\n  b  ').get('m')).toBe('a\n\nb  ')
    expect(parse('m:\n  - |\n    x\n    y').get('m')).toStrictEqual(new TreeSeq(['x\ny']))
  })

  it('keeps what follows the last content line as yaml.v3 does', () => {
    expect(parse('m: |+\n  a\n\n  ').get('m')).toBe('a\n\n')
    expect(parse('m: |\n  a\n  ').get('m')).toBe('a\n')
    expect(parse('m: |-\n  a\n\n  ').get('m')).toBe('a')
    expect(parse('m: |\n  a\n').get('m')).toBe('a\n')
  })

  it('tsops encrypts it to the value real sops decrypts it to', async () => {
    const file = await encrypted('eof.yaml', 'multiline: |\n  multi\n  line')
    expect(await decrypted(file, '--extract', '["multiline"]')).toBe('multi\nline')
  })
})

describe('CLI round trips with U+2028 in a key', () => {
  // Real sops reads the escaped spelling and writes `? 'api<LS>    key'`; it refuses the raw LS
  // in an implicit key (a key on two lines), which tsops accepts and writes the same way.
  const DECRYPTED = "? 'api\u2028    key'\n: s3cret\n"

  for (const [name, source] of [
    ['escaped', '"api\\u2028key": s3cret\n'],
    ['raw', '"api\u2028key": s3cret\n'],
  ] as const) {
    it(`${name} key: encrypt -i, then decrypt`, async () => {
      const file = await encrypted(`inplace-${name}.yaml`, source)
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^\? 'api\u2028 {4}key'\n: ENC\[AES256_GCM,/)
      expect(await decrypted(file)).toBe(DECRYPTED)
      expect(await decrypted(file, '--extract', '["api\u2028key"]')).toBe('s3cret')
    })

    it(`${name} key: encrypt to stdout, then decrypt; the decrypted text encrypts again`, async () => {
      const plain = path.join(dir, `stdout-${name}.yaml`)
      fs.writeFileSync(plain, source)
      const enc = await runCli(['encrypt', '--age', age.recipient, plain], { env: env() })
      expect(enc.stderr).toBe('')
      expect(enc.code).toBe(0)
      const file = path.join(dir, `stdout-${name}.enc.yaml`)
      fs.writeFileSync(file, enc.stdout)
      expect(await decrypted(file)).toBe(DECRYPTED)
      const again = await encrypted(`again-${name}.yaml`, DECRYPTED)
      expect(await decrypted(again)).toBe(DECRYPTED)
    })
  }

  it('edit of another value keeps a value holding U+2028 byte for byte', async () => {
    const file = await encrypted('edit.yaml', "note: 'first\u2028    second'\nother: 1\n")
    const noteLine = (text: string) => text.split('\n').find((l) => l.startsWith('note: '))
    const before = fs.readFileSync(file, 'utf8')
    const editor = path.join(dir, 'edit-other.mjs')
    const script = `#!${process.execPath}\nimport fs from 'node:fs'\nconst f = process.argv.at(-1)\nfs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('other: 1', 'other: 2'))\n`
    fs.writeFileSync(editor, script, { mode: 0o755 })
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: editor }) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const after = fs.readFileSync(file, 'utf8')
    expect(noteLine(after)).toBe(noteLine(before))
    expect(await decrypted(file)).toBe("note: 'first\u2028    second'\nother: 2\n")
  })
})
