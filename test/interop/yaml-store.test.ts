/**
 * The YAML store against files written by real sops (../shared/interop): decrypted outputs
 * (`.dec`) and encrypted files must parse, and what we emit must be byte-identical where sops
 * used the same yaml.v3 emitter (sops >= 3.7 here; 3.3/3.6 files were written with yaml.v2).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Comment, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { yamlFormat } from '../../src/formats/yaml.js'
import { INTEROP } from '../helpers/paths.js'

const DIRS = ['sops', 'sops-age'].map((d) => path.join(INTEROP, d)).filter((d) => existsSync(d))
const read = (file: string): Buffer => readFileSync(file)
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')

const decFiles = DIRS.flatMap((d) => readdirSync(d).filter((f) => /\.ya?ml\.dec$/.test(f)).map((f) => path.join(d, f)))
const encFiles = DIRS.flatMap((d) => readdirSync(d).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(d, f)))

/** Written by the yaml.v3 emitter (sops 3.7.1, 3.10.2, 3.13.1): our output must match byte for byte. */
const BYTE_EXACT = new Set(['example.yaml', 'format.enc.yaml', 'secrets.age.yaml'])

/** The shape of a tree: keys and comment markers in order, values left out. */
function shape(v: Value): unknown {
  if (v instanceof TreeMap) return v.items.map((i) => (i instanceof Comment ? `#${i.inline ? 'inline' : ''}` : [i.key, shape(i.value)]))
  if (v instanceof TreeSeq) return v.items.map((i) => (i instanceof Comment ? '#' : shape(i)))
  return '.'
}

describe('interop: YAML store', () => {
  it('finds the interop vectors', () => {
    expect(decFiles.length).toBeGreaterThanOrEqual(6)
    expect(encFiles.length).toBeGreaterThanOrEqual(7)
  })

  describe.each(decFiles.map((f) => [path.relative(INTEROP, f), f]))('decrypted output %s', (_name, file) => {
    it('emit(parse(dec)) reproduces the bytes sops printed', () => {
      const bytes = read(file)
      expect(text(yamlFormat.emit(yamlFormat.parse(bytes)))).toBe(bytes.toString('utf8'))
    })
  })

  describe.each(encFiles.map((f) => [path.relative(INTEROP, f), f]))('encrypted file %s', (_name, file) => {
    const bytes = read(file)

    it('parses and extracts the metadata', () => {
      const doc = yamlFormat.parse(bytes)
      expect(doc.metadata).toBeInstanceOf(TreeMap)
      expect(doc.metadata!.get('lastmodified')).toBeTypeOf('string')
      expect(doc.metadata!.get('version')).toBeTypeOf('string')
      expect(doc.branches.every((b) => b.entry('sops') === undefined)).toBe(true)
      expect(yamlFormat.hasMetadataKey(doc)).toBe(true)
    })

    if (BYTE_EXACT.has(path.basename(file))) {
      it('emit(parse(file)) is byte-identical', () => {
        expect(text(yamlFormat.emit(yamlFormat.parse(bytes)))).toBe(bytes.toString('utf8'))
      })
    } else {
      it('emit(parse(file)) reads back as the same tree (yaml.v2-era styling differs)', () => {
        const doc = yamlFormat.parse(bytes)
        const again = yamlFormat.parse(yamlFormat.emit(doc))
        expect(again.branches).toEqual(doc.branches)
        expect(again.metadata).toEqual(doc.metadata)
      })
    }
  })

  describe('comment placement matches between encrypted files and their decryption', () => {
    it.each(['comments.enc.yaml', 'comments_unencrypted_comments.yaml', 'example.yaml'])('%s', (name) => {
      const dir = path.join(INTEROP, 'sops')
      const enc = yamlFormat.parse(read(path.join(dir, name)))
      const dec = yamlFormat.parse(read(path.join(dir, `${name}.dec`)))
      expect(enc.branches.map(shape)).toEqual(dec.branches.map(shape))
    })

    it('comments.enc.yaml: top-level comments before their keys', () => {
      const dec = yamlFormat.parse(read(path.join(INTEROP, 'sops', 'comments.enc.yaml.dec')))
      expect(dec.branches[0]!.items).toEqual([
        new Comment(' first comment in file'),
        { key: 'lorem', value: 'ipsum' },
        new Comment(' this-is-a-comment'),
        { key: 'dolor', value: 'sit' },
      ])
    })

    it('example.yaml: encrypted comments sit in the maps whose path is their AAD', () => {
      const enc = yamlFormat.parse(read(path.join(INTEROP, 'sops', 'example.yaml')))
      const db = (enc.branches[0]!.get('app2') as TreeMap).get('db') as TreeMap
      expect(db.items.at(-1)).toBeInstanceOf(Comment)
      const nested = ((((enc.branches[0]!.get('this') as TreeMap).get('is') as TreeMap).get('a') as TreeMap).get('nested') as TreeMap).items
      expect(nested.filter((i) => i instanceof Comment)).toHaveLength(3)
      expect((nested[1] as Comment).text).toMatch(/^ENC\[AES256_GCM,.*type:comment\]$/)
    })
  })
})
