// `tsops set` of a new key and `tsops unset` on an encrypted TOML file splice the source text
// like edit does: byte for byte outside the change (toml-restructure.ts).
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'

const { env, encrypted, decrypted } = cliWorkspace('tsops-toml-set-')

const SOURCE = [
  'title = "demo" # the title',
  'ports = [ 8000, 8001, 8002 ]',
  "'literal key' = 'x'",
  'inline = { a = 1, b = "x" }',
  '',
  '[server]',
  'host = "h"   # primary',
  '',
].join('\n')

async function tsops(...args: string[]): Promise<void> {
  const r = await runCli(args, { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
}

/** The lines of the encrypted file that are not metadata (`lastmodified` and `mac` change on every write). */
function dataLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8')
  return text.slice(0, text.indexOf('\n[sops]')).split('\n')
}

let counter = 0
async function fresh(): Promise<string> {
  return encrypted(`s${counter++}.toml`, SOURCE)
}

describe('tsops set / unset on an encrypted TOML file', () => {
  it('set of a new key in a section adds one line; comments, spacing, literal keys and inline tables stay', async () => {
    const file = await fresh()
    const before = dataLines(file)
    await tsops('set', file, '["server"]["timeout"]', '"30s"')
    const after = dataLines(file)
    expect(after.slice(0, 7)).toStrictEqual(before.slice(0, 7))
    expect(after[7]).toMatch(/^timeout = "ENC\[AES256_GCM,data:[^"]*,type:str\]"$/)
    expect(after.slice(8)).toStrictEqual(before.slice(7))
    expect(await decrypted(file)).toBe(SOURCE.replace('# primary\n', '# primary\ntimeout = "30s"\n'))
  })

  it('set of a new key in an inline table adds it inline', async () => {
    const file = await fresh()
    await tsops('set', file, '["inline"]["c"]', '"new"')
    expect(await decrypted(file)).toBe(SOURCE.replace('inline = { a = 1, b = "x" }', 'inline = { a = 1, b = "x", c = "new" }'))
  })

  it('set of a new array element appends it inside the brackets, spacing kept', async () => {
    const file = await fresh()
    await tsops('set', file, '["ports"][3]', '"8003"')
    expect(await decrypted(file)).toBe(SOURCE.replace('[ 8000, 8001, 8002 ]', '[ 8000, 8001, 8002, "8003" ]'))
  })

  it('set of a new top-level key in a file without tables adds one line at the end of the root', async () => {
    const source = "# settings\nname = 'app' # literal\nlist = [ 1, 2 ]\n"
    const file = await encrypted('root.toml', source)
    await tsops('set', file, '["added"]', 'true')
    expect(await decrypted(file)).toBe(source + 'added = true\n')
  })

  it('set of a new key into a dotted-key table writes a dotted key after its siblings', async () => {
    const source = 'a.b = 1\na.c = 2 # two\nz = 3\n'
    const file = await encrypted('dotted.toml', source)
    await tsops('set', file, '["a"]["d"]', '"four"')
    expect(await decrypted(file)).toBe('a.b = 1\na.c = 2 # two\na.d = "four"\nz = 3\n')
  })

  it('unset of a key removes its line; a comment after it stays on a line of its own', async () => {
    const file = await fresh()
    const before = dataLines(file)
    await tsops('unset', file, '["ports"]')
    const after = dataLines(file)
    expect(after).toStrictEqual([before[0], ...before.slice(2)])
    await tsops('unset', file, '["title"]')
    expect(await decrypted(file)).toBe(SOURCE.replace('title = "demo" # the title', '# the title').replace('ports = [ 8000, 8001, 8002 ]\n', ''))
  })

  it('unset of an inline-table entry and of an array element remove them with their comma', async () => {
    const file = await fresh()
    await tsops('unset', file, '["inline"]["a"]')
    await tsops('unset', file, '["ports"][1]')
    await tsops('unset', file, '["ports"][1]')
    expect(await decrypted(file)).toBe(SOURCE.replace('{ a = 1, b = "x" }', '{ b = "x" }').replace('[ 8000, 8001, 8002 ]', '[ 8000 ]'))
  })

  it('a key the splice cannot place (a top-level key after [tables]) is still written correctly, by rewriting', async () => {
    const file = await fresh()
    await tsops('set', file, '["added"]', '"late"')
    const text = await decrypted(file)
    expect(text).toContain('added = "late"')
    expect(await decrypted(file, '--extract', '["server"]["host"]')).toBe('h')
  })
})

describe('set / unset splicing on random edits (in process)', () => {
  it('the written text always reads back as the edited tree', async () => {
    const fc = (await import('fast-check')).default
    const { tomlFormat } = await import('../../src/formats/toml.js')
    const { setValue } = await import('../../src/tree/set.js')
    const { unsetValue } = await import('../../src/tree/unset.js')
    const { Literal, TreeMap, TreeSeq, stripLiterals } = await import('../../src/core/tree.js')
    const base = SOURCE + '[[items]]\nname = "a"\n\n[[items]]\nname = "b" # second\n\n[deep.er]\nx = 1\ny.z = [ 1, { q = 2 } ]\n'
    const PATHS: (string | number)[][] = [['title'], ['ports'], ['ports', 0], ['ports', 2], ['ports', 3], ['literal key'], ['inline'], ['inline', 'a'], ['inline', 'c'], ['server'], ['server', 'host'], ['server', 'new'], ['items', 0, 'name'], ['items', 1, 'extra'], ['items', 2], ['deep', 'er', 'y', 'z', 1, 'q'], ['deep', 'er', 'y', 'w'], ['deep', 'er', 'y', 'z', 2], ['new']]
    const op = fc.record({ path: fc.constantFrom(...PATHS), unset: fc.boolean(), value: fc.constantFrom<unknown>('s', 1.5, true, { k: 'v' }) })
    const plain = (v: unknown): unknown =>
      v instanceof TreeMap ? v.entries().map((e) => [e.key, plain(e.value)]) : v instanceof TreeSeq ? v.values().map(plain) : v instanceof Literal ? v.value : v
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 3 }), (ops) => {
        const doc = tomlFormat.parse(Buffer.from(base))
        const root = doc.branches[0]!
        for (const o of ops) {
          try {
            if (o.unset) unsetValue(root, o.path)
            else setValue(root, o.path, o.value instanceof Object ? new TreeMap([{ key: 'k', value: 'v' }]) : (o.value as string))
          } catch {
            // a path that does not fit the tree: nothing changed
          }
        }
        const written = tomlFormat.emit(doc)
        const back = tomlFormat.parse(written).branches[0]!
        expect(plain(stripLiterals(back))).toStrictEqual(plain(stripLiterals(root)))
      }),
      { numRuns: 400 },
    )
  })
})
