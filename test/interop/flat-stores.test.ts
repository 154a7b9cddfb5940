// dotenv and INI files written by real sops: our parse/emit must reproduce their bytes.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { Comment, type TreeMap, type TreeSeq } from '../../src/core/tree.js'
import { dotenvFormat } from '../../src/formats/dotenv.js'
import { iniFormat } from '../../src/formats/ini.js'
import type { Format } from '../../src/formats/format.js'
import { INTEROP } from '../helpers/paths.js'

const DIR = path.join(INTEROP, 'sops')
const read = (name: string): Buffer => fs.readFileSync(path.join(DIR, name))
const roundTrip = (format: Format, bytes: Uint8Array): Buffer => Buffer.from(format.emit(format.parse(bytes)))

describe('decrypted files: emit(parse(x)) is byte-identical', () => {
  test.each([
    ['format.enc.env.dec', dotenvFormat],
    ['example.ini.dec', iniFormat],
    ['format.enc.ini.dec', iniFormat],
    ['format-2.enc.ini.dec', iniFormat],
  ] as const)('%s', (name, format) => {
    const bytes = read(name)
    expect(roundTrip(format, bytes).toString('utf8')).toBe(bytes.toString('utf8'))
    expect(format.parse(bytes).metadata).toBeUndefined()
  })

  test('format.enc.env.dec keeps the spaces around = in key and value', () => {
    expect(dotenvFormat.parse(read('format.enc.env.dec')).branches[0]!.items).toEqual([{ key: 'foo ', value: ' bar' }])
  })

  test('example.ini.dec: DEFAULT first, the file comment is the first section comment', () => {
    const root = iniFormat.parse(read('example.ini.dec')).branches[0]!
    expect(root.entries().map((e) => e.key)).toEqual(['DEFAULT', 'name', 'address', 'phoneNumbers', 'not private'])
    expect((root.get('name') as TreeMap).items[0]).toEqual(new Comment('An example file for use with sops!'))
    expect((root.get('name') as TreeMap).get('age')).toBe('25.4')
  })
})

describe('encrypted files: metadata extracted', () => {
  const pgpEnc = (meta: TreeMap, i = 0): string => ((meta.get('pgp') as TreeSeq).values()[i] as TreeMap).get('enc') as string

  test('format.enc.env: sops_* keys become the metadata; the file re-emits byte-exact', () => {
    const bytes = read('format.enc.env')
    const doc = dotenvFormat.parse(bytes)
    expect(doc.branches[0]!.entries().map((e) => e.key)).toEqual(['foo '])
    const meta = doc.metadata!
    expect(meta.entries().map((e) => e.key)).toEqual(['lastmodified', 'mac', 'pgp', 'unencrypted_suffix', 'version'])
    expect(meta.get('version')).toBe('3.13.1')
    expect(pgpEnc(meta)).toMatch(/^-----BEGIN PGP MESSAGE-----\n\n[\s\S]*\n-----END PGP MESSAGE-----$/)
    expect(dotenvFormat.hasMetadataKey(doc)).toBe(true)
    expect(roundTrip(dotenvFormat, bytes).toString('utf8')).toBe(bytes.toString('utf8'))
  })

  test('format.enc.ini (modern layout) re-emits byte-exact', () => {
    const bytes = read('format.enc.ini')
    const doc = iniFormat.parse(bytes)
    expect(doc.branches[0]!.entries().map((e) => e.key)).toEqual(['DEFAULT', 'foo'])
    expect(doc.metadata!.get('version')).toBe('3.13.2')
    expect(pgpEnc(doc.metadata!)).toMatch(/^-----BEGIN PGP MESSAGE-----\n\n[\s\S]*\n-----END PGP MESSAGE-----$/)
    expect(iniFormat.hasMetadataKey(doc)).toBe(true)
    expect(roundTrip(iniFormat, bytes).toString('utf8')).toBe(bytes.toString('utf8'))
  })

  test('format-2.enc.ini (3.13.0/3.13.1: real newlines inside """) reads like the escaped form', () => {
    const text = read('format-2.enc.ini').toString('utf8')
    expect(text).toContain('"""-----BEGIN PGP MESSAGE-----\n')
    const escaped = text.replace(/"""([\s\S]*?)"""/, (_, body: string) => body.replaceAll('\n', '\\n'))
    const doc = iniFormat.parse(Buffer.from(text))
    const fromEscaped = iniFormat.parse(Buffer.from(escaped))
    expect(doc.metadata).toEqual(fromEscaped.metadata)
    expect(doc.branches).toEqual(fromEscaped.branches)
    expect(pgpEnc(doc.metadata!)).toMatch(/^-----BEGIN PGP MESSAGE-----\n\n[\s\S]*\n=j3Rn\n-----END PGP MESSAGE-----$/)
    // We write the current (escaped) form, exactly as sops 3.13.2 would.
    expect(Buffer.from(iniFormat.emit(doc)).toString('utf8')).toBe(escaped)
  })

  test('example.ini (sops 3.5.0 layout): metadata read; re-emitted in the modern, sorted layout and stable', () => {
    const bytes = read('example.ini')
    const doc = iniFormat.parse(bytes)
    expect(doc.branches[0]!.entries().map((e) => e.key)).toEqual(['DEFAULT', 'name', 'address', 'phoneNumbers', 'not private'])
    expect((doc.branches[0]!.get('name') as TreeMap).items[0]).toBeInstanceOf(Comment)
    const meta = doc.metadata!
    expect(meta.entries().map((e) => e.key)).toEqual(['lastmodified', 'mac', 'pgp', 'unencrypted_suffix', 'version'])
    expect((meta.get('pgp') as TreeSeq).values()).toHaveLength(2)
    expect(pgpEnc(meta, 1)).toMatch(/^-----BEGIN PGP MESSAGE-----\n/)
    const once = iniFormat.emit(doc)
    expect(Buffer.from(iniFormat.emit(iniFormat.parse(once))).equals(Buffer.from(once))).toBe(true)
    expect(iniFormat.parse(once)).toEqual(doc)
    // Same data section bytes as the original; only the [sops] block is re-ordered and the trailing blank line gone.
    const dataPart = (b: Uint8Array): string => Buffer.from(b).toString('utf8').split('[sops]')[0]!
    expect(dataPart(once)).toBe(dataPart(bytes))
  })
})
