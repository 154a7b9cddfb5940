/**
 * Formats declare what they support (format.ts FormatCapabilities), and the code outside
 * src/formats reads the declaration instead of switching on the format's name: `edit`'s example
 * document, the raw-string decoding of a binary file, the rules a binary file does not keep.
 */
import { describe, expect, it } from 'vitest'
import { Comment, TreeMap, TreeSeq } from '../../src/core/tree.js'
import { exampleDocument } from '../../src/edit/example.js'
import type { Format, FormatCapabilities } from '../../src/formats/format.js'
import { FORMAT_NAMES, loadFormat } from '../../src/formats/registry.js'
import { effectiveRules } from '../../src/pipeline/encrypt.js'

async function allFormats(): Promise<Format[]> {
  return Promise.all(FORMAT_NAMES.map((name) => loadFormat(name)))
}

/** A format as `name` but declaring other capabilities: what reads them must follow. */
function declaring(format: Format, capabilities: Partial<FormatCapabilities>): Format {
  return { ...format, capabilities: { ...format.capabilities, ...capabilities } }
}

describe('format capabilities', () => {
  it('every format declares them, as sops’s stores behave', async () => {
    const table = Object.fromEntries((await allFormats()).map((f) => [f.name, f.capabilities]))
    expect(table).toEqual({
      yaml: { rawStrings: false, comments: true, multipleDocuments: true, encryptionRules: true, example: 'complex-tree' },
      json: { rawStrings: false, comments: false, multipleDocuments: false, encryptionRules: true, example: 'complex-tree' },
      dotenv: { rawStrings: false, comments: true, multipleDocuments: false, encryptionRules: true, example: 'flat-tree' },
      ini: { rawStrings: false, comments: true, multipleDocuments: false, encryptionRules: true, example: 'simple-tree' },
      toml: { rawStrings: false, comments: true, multipleDocuments: false, encryptionRules: true, example: 'complex-tree' },
      binary: { rawStrings: true, comments: false, multipleDocuments: false, encryptionRules: false, example: 'text' },
    })
  })

  it('a format that declares comments keeps a comment through parse and emit; one that does not drops it', async () => {
    for (const format of await allFormats()) {
      if (format.name === 'binary') continue
      const emitted = format.emit({ branches: [await exampleTree(format)], metadata: undefined })
      const reparsed = format.parse(emitted).branches[0]!
      const hasComment = JSON.stringify([...walk(reparsed)].some((v) => v instanceof Comment))
      expect([format.name, hasComment]).toEqual([format.name, JSON.stringify(format.capabilities.comments)])
    }
  })

  it('a format that declares several documents reads them all', async () => {
    for (const format of await allFormats()) {
      if (!format.capabilities.multipleDocuments) continue
      expect(format.parse(Buffer.from('a: 1\n---\nb: 2\n')).branches).toHaveLength(2)
    }
  })
})

describe('edit’s example document follows the declaration, not the name', () => {
  it('each format’s own example is sops’s', async () => {
    const yaml = await loadFormat('yaml')
    const text = (f: Format) => Buffer.from(exampleDocument(f)).toString('utf8')
    expect(text(yaml)).toContain('example_booleans:')
    expect(text(await loadFormat('dotenv'))).toContain('example_multiline=foo\\nbar\\nbaz')
    expect(text(await loadFormat('ini'))).toContain('[Welcome!]')
    expect(text(await loadFormat('binary'))).toBe('Welcome to SOPS! Edit this file as you please!')
  })

  it('a YAML format declaring the flat example gets the flat tree; declaring text gets the line of text', async () => {
    const yaml = await loadFormat('yaml')
    const flat = Buffer.from(exampleDocument(declaring(yaml, { example: 'flat-tree' }))).toString('utf8')
    expect(flat).toContain('example_multiline:')
    expect(flat).not.toContain('example_booleans')
    expect(Buffer.from(exampleDocument(declaring(yaml, { example: 'text' }))).toString('utf8')).toBe('Welcome to SOPS! Edit this file as you please!')
  })

  it('encryption rules are kept unless the format declares it keeps none', async () => {
    const yaml = await loadFormat('yaml')
    expect(effectiveRules(yaml, {})).toEqual({ unencryptedSuffix: '_unencrypted' })
    expect(effectiveRules(declaring(yaml, { encryptionRules: false }), { unencryptedSuffix: '_x' })).toEqual({})
  })
})

async function exampleTree(format: Format) {
  return format.parse(exampleDocument(format)).branches[0]!
}

/** Every node of a tree, comments included (maps and lists keep them among their items). */
function* walk(value: unknown): Generator<unknown> {
  yield value
  if (!(value instanceof TreeMap || value instanceof TreeSeq)) return
  for (const item of value.items as unknown[]) {
    const isEntry = item !== null && typeof item === 'object' && !(item instanceof Comment) && 'key' in item && 'value' in item
    yield* walk(isEntry ? (item as { value: unknown }).value : item)
  }
}
