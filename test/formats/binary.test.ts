import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { BinaryEmitError, EmitError, FormatError } from '../../src/core/errors.js'
import { TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { binaryFormat, parseEncryptedBinary } from '../../src/formats/binary.js'
import type { Document } from '../../src/formats/format.js'

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8')
const dec = (b: Uint8Array): string => Buffer.from(b).toString('utf8')
const plainDoc = (data: Value): Document => ({ branches: [new TreeMap([{ key: 'data', value: data }])], metadata: undefined })

function emitError(fn: () => unknown): EmitError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(EmitError)
    return e as EmitError
  }
  throw new Error('expected an EmitError')
}

describe('binary store: plaintext', () => {
  it('wraps the raw bytes as `data` without copying them', () => {
    const bytes = Buffer.from('hello\n\n')
    const doc = binaryFormat.parse(bytes)
    expect(doc.metadata).toBeUndefined()
    expect(doc.branches).toHaveLength(1)
    expect(doc.branches[0]!.get('data')).toBe(bytes)
    expect(binaryFormat.hasMetadataKey(doc)).toBe(false)
  })

  it('reads an empty file as data: ""', () => {
    expect(binaryFormat.parse(new Uint8Array()).branches[0]!.get('data')).toBe('')
    expect(binaryFormat.emit(plainDoc(''))).toHaveLength(0)
  })

  it('does not interpret a plaintext that looks like an encrypted file', () => {
    const text = enc('{"data": "x", "sops": {"version": "3.13.2"}}')
    const doc = binaryFormat.parse(text)
    expect(doc.metadata).toBeUndefined()
    expect(binaryFormat.hasMetadataKey(doc)).toBe(false) // sops re-encrypts it as bytes too
  })

  it('round-trips any bytes exactly: trailing newlines, NULs, invalid UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        expect(Buffer.from(binaryFormat.emit(binaryFormat.parse(bytes))).equals(Buffer.from(bytes))).toBe(true)
      }),
    )
    const tricky = new Uint8Array([0xff, 0xfe, 0x00, 0xe2, 0x82, 0x0a, 0x0a, 0x0d, 0x0a])
    expect([...binaryFormat.emit(binaryFormat.parse(tricky))]).toEqual([...tricky])
  })

  it('writes decrypted string data as UTF-8 with no newline added', () => {
    expect(dec(binaryFormat.emit(plainDoc('Welcome to SOPS!\n')))).toBe('Welcome to SOPS!\n')
    expect(dec(binaryFormat.emit(plainDoc('no newline')))).toBe('no newline')
  })

  it('uses the first data entry, like sops', () => {
    const doc: Document = { branches: [new TreeMap([{ key: 'x', value: 1n }, { key: 'data', value: 'a' }, { key: 'data', value: 'b' }])], metadata: undefined }
    expect(dec(binaryFormat.emit(doc))).toBe('a')
  })

  it('explains a tree that is not binary data (decrypt adds sops\'s hint, see the CLI)', () => {
    const none = emitError(() => binaryFormat.emit({ branches: [new TreeMap([{ key: 'foo', value: 'bar' }])], metadata: undefined }))
    expect(none.message).toBe('error emitting binary store: no binary data found in tree')
    expect(none).toBeInstanceOf(BinaryEmitError)
    expect(none.exitCode).toBe(4)
    const wrongType = emitError(() => binaryFormat.emit(plainDoc(new TreeSeq(['x']))))
    expect(wrongType.message).toBe("error emitting binary store: 'data' key in tree does not have a string value")
    expect(emitError(() => binaryFormat.emit({ branches: [], metadata: undefined })).message).toBe(
      'error emitting binary store: there must be exactly one tree branch',
    )
  })

  it('does not support --extract', () => {
    expect(emitError(() => binaryFormat.emitValue!('x')).message).toBe(
      'Binary files are not structured and extracting a single value is not possible',
    )
  })
})

describe('binary store: encrypted envelope', () => {
  const metadata = (): TreeMap => new TreeMap([{ key: 'version', value: '3.13.2' }])

  it('writes the JSON store layout and reads it back', () => {
    const doc: Document = { branches: [new TreeMap([{ key: 'data', value: 'ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]' }])], metadata: metadata() }
    const text = dec(binaryFormat.emit(doc))
    expect(text).toBe('{\n\t"data": "ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]",\n\t"sops": {\n\t\t"version": "3.13.2"\n\t}\n}\n')
    expect(dec(binaryFormat.emit(doc, { indent: 4 }))).toContain('\n    "data"')
    const back = parseEncryptedBinary(enc(text))
    expect(back.metadata?.get('version')).toBe('3.13.2')
    expect(back.branches[0]!.get('data')).toBe('ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]')
    expect(binaryFormat.hasMetadataKey(back)).toBe(true)
  })

  it('writes an empty payload as data: ""', () => {
    const doc: Document = { branches: [new TreeMap([{ key: 'data', value: '' }])], metadata: metadata() }
    expect(dec(binaryFormat.emit(doc))).toMatch(/^\{\n\t"data": "",\n\t"sops": \{/)
  })

  it('reports a plaintext given to decrypt as a JSON parse error', () => {
    expect(() => parseEncryptedBinary(enc('Welcome to SOPS!'))).toThrow(FormatError)
    expect(() => parseEncryptedBinary(enc('Welcome to SOPS!'))).toThrow(/^Could not unmarshal input data: invalid character 'W' looking for beginning of value/)
  })

  // Time and peak memory are bench rows (bench/run.mjs, "64 MiB binary").
  it('handles a 64 MiB payload', () => {
    const size = 64 * 1024 * 1024
    const payload = randomBytes(size)
    const plain = binaryFormat.parse(payload)
    expect(plain.branches[0]!.get('data')).toBe(payload)
    // What the core would store: base64 of the ciphertext inside ENC[…].
    const value = `ENC[AES256_GCM,data:${payload.toString('base64')},iv:aQ==,tag:dA==,type:str]`
    const out = binaryFormat.emit({ branches: [new TreeMap([{ key: 'data', value }])], metadata: metadata() })
    const back = parseEncryptedBinary(out)
    expect(back.branches[0]!.get('data') === value).toBe(true)
    expect(Buffer.from(binaryFormat.emit({ branches: [new TreeMap([{ key: 'data', value: payload }])], metadata: undefined })).equals(payload)).toBe(true)
  })
})

describe('large encrypted envelope', () => {
  it('splices a big ENC value into exactly the bytes the JSON store writes', async () => {
    const { TreeMap: TM } = await import('../../src/core/tree.js')
    const { emitJsonDocument } = await import('../../src/formats/json.js')
    const enc = `ENC[AES256_GCM,data:${Buffer.alloc(300_000, 7).toString('base64')},iv:${'A'.repeat(44)},tag:${'B'.repeat(22)}==,type:str]`
    const metadata = new TM([{ key: 'version', value: '3.13.2' }])
    const doc = { branches: [new TM([{ key: 'data', value: enc }])], metadata }
    for (const indent of [undefined, 2]) {
      const fast = Buffer.from(binaryFormat.emit(doc, { indent }))
      const general = Buffer.from(emitJsonDocument(doc, { indent }))
      expect(fast.equals(general)).toBe(true)
    }
  })
})
