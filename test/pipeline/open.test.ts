/**
 * pipeline/open.ts: the one way to open an encrypted file. The handle holds the decrypted tree,
 * the metadata and the data key; close() and Symbol.dispose zero the key; a failed open leaves no
 * key behind; a key handed in is copied, never zeroed; the format's capabilities decide how
 * values decode. And no other module opens files its own way (a scan of src/).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { MacMismatchError } from '../../src/core/errors.js'
import { binaryFormat } from '../../src/formats/binary.js'
import { yamlFormat } from '../../src/formats/yaml.js'
import { ageKeySource } from '../../src/keys/age.js'
import type { KeyContext, KeySource } from '../../src/keys/types.js'
import { encryptDocument } from '../../src/pipeline/encrypt.js'
import { open, parseSealed, withDataKey } from '../../src/pipeline/open.js'
import { testAgeIdentity } from '../helpers/age.js'
import { REPO_ROOT } from '../helpers/paths.js'

let ctx: KeyContext
let keys: KeySource[][]
let encryptedYaml: Uint8Array
beforeAll(async () => {
  const { identity, recipient } = await testAgeIdentity()
  ctx = { env: {}, ageIdentities: [identity] }
  keys = [[ageKeySource(recipient)]]
  const doc = yamlFormat.parse(Buffer.from('a: secret\nb: 2\n'))
  await encryptDocument(yamlFormat, doc, { keyGroups: keys, ctx })
  encryptedYaml = yamlFormat.emit(doc)
})

const isZero = (key: Uint8Array) => key.every((b) => b === 0)

/** The file with one value's ciphertext swapped for another's: every value still decrypts alone, the MAC does not match. */
function tamperedYaml(): Buffer {
  const text = Buffer.from(encryptedYaml).toString('utf8')
  const a = /^a: (ENC\[[^\]]*\])$/m.exec(text)![1]!
  const tampered = text.replace(/^(\s*mac: )ENC\[[^\]]*\]$/m, (_, head: string) => head + a)
  expect(tampered).not.toBe(text)
  return Buffer.from(tampered, 'utf8')
}

describe('open()', () => {
  it('returns the decrypted tree, the metadata and the data key; close() zeroes the key', async () => {
    const opened = await open(encryptedYaml, 'yaml', { ctx })
    expect(opened.doc.branches[0]!.get('a')).toBe('secret')
    expect(opened.doc.metadata).toBeUndefined()
    expect(opened.metadata.keyGroups[0]).toHaveLength(1)
    expect(opened.format.name).toBe('yaml')
    expect(opened.dataKey).toHaveLength(32)
    expect(isZero(opened.dataKey)).toBe(false)
    opened.close()
    expect(isZero(opened.dataKey)).toBe(true)
  })

  it('is a Disposable: `using` zeroes the key at the end of the block', async () => {
    let key: Uint8Array
    {
      using opened = await open(encryptedYaml, 'yaml', { ctx })
      key = opened.dataKey
      expect(isZero(key)).toBe(false)
    }
    expect(isZero(key)).toBe(true)
  })

  it('checks the MAC (exit 51) unless ignoreMac', async () => {
    const tampered = tamperedYaml()
    await expect(open(tampered, 'yaml', { ctx })).rejects.toBeInstanceOf(MacMismatchError)
    const opened = await open(tampered, 'yaml', { ctx, ignoreMac: true })
    expect(opened.doc.branches[0]!.get('b')).toBe(2n)
    opened.close()
  })

  it('a key handed in is used without any master key and copied: closing the handle leaves the caller’s key alone', async () => {
    const first = await open(encryptedYaml, 'yaml', { ctx })
    const known = Uint8Array.from(first.dataKey)
    first.close()
    const sealed = await parseSealed(encryptedYaml, 'yaml')
    const opened = await open(sealed, 'yaml', { dataKey: known }) // no ctx: no master key can be asked
    expect(opened.doc).toBe(sealed.doc)
    expect(opened.doc.branches[0]!.get('a')).toBe('secret')
    opened.close()
    expect(isZero(opened.dataKey)).toBe(true)
    expect(isZero(known)).toBe(false)
  })

  it('a wrong key handed in fails and is not zeroed; nothing is decrypted', async () => {
    const wrong = new Uint8Array(32).fill(7)
    await expect(open(encryptedYaml, 'yaml', { dataKey: wrong })).rejects.toThrow()
    expect(wrong.every((b) => b === 7)).toBe(true)
  })

  it('decodes values as the format declares: a binary file’s non-UTF-8 bytes come back as they were', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41])
    const doc = binaryFormat.parse(bytes)
    await encryptDocument(binaryFormat, doc, { keyGroups: keys, ctx })
    const opened = await open(binaryFormat.emit(doc), 'binary', { ctx })
    expect(Buffer.from(opened.doc.branches[0]!.get('data') as Uint8Array)).toEqual(bytes)
    opened.close()
  })

  it('keeps IVs for a re-encryption by default, none with keepIvs: false', async () => {
    const keeping = await open(encryptedYaml, 'yaml', { ctx })
    const plain = await open(encryptedYaml, 'yaml', { ctx, keepIvs: false })
    expect(keeping.stash.size).toBeGreaterThan(0)
    expect(plain.stash.size).toBe(0)
    keeping.close()
    plain.close()
  })
})

describe('withDataKey()', () => {
  it('zeroes the key when the work returns and when it throws', async () => {
    const a = new Uint8Array(32).fill(1)
    expect(await withDataKey(a, (k) => k.length)).toBe(32)
    expect(isZero(a)).toBe(true)
    const b = new Uint8Array(32).fill(1)
    await expect(withDataKey(b, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(isZero(b)).toBe(true)
  })
})

describe('nobody else opens files their own way', () => {
  const SRC = path.join(REPO_ROOT, 'src')
  const sources = (fs.readdirSync(SRC, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: f.split(path.sep).join('/'), text: fs.readFileSync(path.join(SRC, f), 'utf8') }))

  it('only pipeline/open.ts zeroes a data key by hand', () => {
    const zeroing = sources.filter((s) => /\bdataKey\??\.fill\(0\)/.test(s.text)).map((s) => s.file)
    expect(zeroing).toEqual(['pipeline/open.ts'])
  })

  it('only pipeline/open.ts chooses how decrypted values decode (raw strings, source literals)', () => {
    const choosing = sources.filter((s) => /rawStrings:[^,}]*'binary'|decodeLiteral\?\.bind/.test(s.text)).map((s) => s.file)
    expect(choosing).toEqual(['pipeline/open.ts'])
  })

  it('the MAC is checked in one place: only pipeline/decrypt.ts decrypts the stored MAC', () => {
    const macReaders = sources.filter((s) => /decrypt\([^)]*\.mac,\s*macAad\(/.test(s.text)).map((s) => s.file)
    expect(macReaders).toEqual(['pipeline/decrypt.ts'])
  })
})
