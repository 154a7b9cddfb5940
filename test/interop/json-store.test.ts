// The JSON and binary stores against files written by real sops (../shared/interop/sops).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { TreeMap } from '../../src/core/tree.js'
import { binaryFormat, parseEncryptedBinary } from '../../src/formats/binary.js'
import { jsonFormat, parseEncryptedJson } from '../../src/formats/json.js'
import { INTEROP } from '../helpers/paths.js'

const file = (name: string): Buffer => readFileSync(path.join(INTEROP, 'sops', name))
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')

/** Encrypted JSON files and the sops version that wrote each. */
const ENCRYPTED = [
  ['example.json', '3.5.0'],
  ['format.enc.json', '3.13.1'],
  ['secret.enc.json', '3.5.0'],
  ['static_github.json', '3.5.0'],
] as const

describe('JSON store vs real sops', () => {
  it.each(ENCRYPTED)('%s.dec: emit(parse(dec)) is byte-identical (what sops decrypt prints)', (name) => {
    const dec = file(`${name}.dec`)
    const doc = jsonFormat.parse(dec)
    expect(doc.metadata).toBeUndefined()
    expect(text(jsonFormat.emit(doc))).toBe(dec.toString('utf8'))
  })

  it.each(ENCRYPTED)('%s (sops %s): parses with the metadata extracted', (name, version) => {
    for (const doc of [jsonFormat.parse(file(name)), parseEncryptedJson(file(name))]) {
      expect(doc.metadata).toBeInstanceOf(TreeMap)
      expect(doc.metadata!.get('version')).toBe(version)
      expect(doc.branches).toHaveLength(1)
      expect(doc.branches[0]!.get('sops')).toBeUndefined()
      expect(jsonFormat.hasMetadataKey(doc)).toBe(true)
    }
  })

  it.each(ENCRYPTED)('%s (sops %s): emit(parse(file)) is byte-identical, up to the final newline sops < 3.10 omitted', (name, version) => {
    const original = file(name).toString('utf8')
    const out = text(jsonFormat.emit(jsonFormat.parse(file(name))))
    if (version === '3.13.1') expect(out).toBe(original)
    else expect(out).toBe(original + '\n')
  })

  it('keeps legacy `kms: null` metadata entries as null', () => {
    const doc = jsonFormat.parse(file('secret.enc.json'))
    expect(doc.metadata!.get('kms')).toBeNull()
    expect(doc.metadata!.entries().map((e) => e.key)).toEqual(['kms', 'gcp_kms', 'azure_kv', 'lastmodified', 'mac', 'pgp', 'unencrypted_suffix', 'version'])
  })
})

describe('binary store vs real sops', () => {
  it('reads example.txt (the encrypted envelope) through parseEncryptedBinary', () => {
    const doc = parseEncryptedBinary(file('example.txt'))
    expect(doc.metadata!.get('version')).toBe('3.5.0')
    const data = doc.branches[0]!.get('data')
    expect(typeof data).toBe('string')
    expect(data as string).toMatch(/^ENC\[AES256_GCM,data:.+,type:str\]$/)
    // the envelope is re-emitted as sops ≥ 3.10 writes it
    expect(text(binaryFormat.emit(doc))).toBe(file('example.txt').toString('utf8') + '\n')
  })

  it('example.txt.dec round-trips as opaque bytes', () => {
    const dec = file('example.txt.dec')
    const out = binaryFormat.emit(binaryFormat.parse(dec))
    expect(Buffer.from(out).equals(dec)).toBe(true)
  })
})
