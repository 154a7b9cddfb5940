import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { ValueCipher, IvStash, parseEncrypted, isEncryptedValue, strictBase64 } from '../../src/core/cipher.js'
import { Comment, Timestamp } from '../../src/core/tree.js'
import { DecryptValueError } from '../../src/core/errors.js'

// A value from sops's own example.yaml (public test vector): data key and ciphertext of `myapp1`.
const SOPS_DATA_KEY = Buffer.from('8c68886c50b5b72965a3cb99c5172e1d74a8aca27b39ee880b535d6907e59f68', 'hex')
const SOPS_MYAPP1 =
  'ENC[AES256_GCM,data:zlGNmhTYX5xol4ZZFsiaoGkD73nn,iv:ql9mkhoU1I64E/FJi3iA0HaAe2U3kQVFee2ZLwPnBik=,tag:SqVSfu/JkRrwqidAT/i0pg==,type:str]'

describe('ValueCipher', () => {
  it('decrypts a value written by real sops (32-byte IV, path AAD)', () => {
    const cipher = new ValueCipher(SOPS_DATA_KEY)
    expect(cipher.decrypt(SOPS_MYAPP1, 'myapp1:')).toBe('t00m4nys3cr3tzupdated')
  })

  it('fails authentication when the AAD (key path) differs', () => {
    const cipher = new ValueCipher(SOPS_DATA_KEY)
    expect(() => cipher.decrypt(SOPS_MYAPP1, 'other:')).toThrow(DecryptValueError)
  })

  it('writes sops layout: 32-byte IV, 16-byte tag, padded standard base64, ciphertext as long as the plaintext', () => {
    const cipher = new ValueCipher(randomBytes(32))
    const enc = cipher.encrypt('hello world', 'a:b:')
    expect(enc).toMatch(/^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:str\]$/)
    const parts = parseEncrypted(enc)
    expect(parts.iv.length).toBe(32)
    expect(parts.tag.length).toBe(16)
    expect(parts.data.length).toBe(11)
  })

  it('encodes every type as sops does and decodes it back', () => {
    const cipher = new ValueCipher(randomBytes(32))
    const cases: [unknown, string][] = [
      ['text', 'str'],
      [42n, 'int'],
      [-9223372036854775808n, 'int'],
      [1.5, 'float'],
      [true, 'bool'],
      [false, 'bool'],
      [new Timestamp('2024-01-01T00:00:00Z'), 'time'],
      [new Comment(' a comment'), 'comment'],
    ]
    for (const [value, type] of cases) {
      const enc = cipher.encrypt(value as never, 'k:')
      expect(parseEncrypted(enc).type).toBe(type)
      expect(cipher.decrypt(enc, 'k:')).toEqual(value)
    }
  })

  it('writes bools as True/False and floats without exponent (the MAC bytes)', () => {
    const key = randomBytes(32)
    const cipher = new ValueCipher(key)
    const plain = (v: unknown) => {
      const p = parseEncrypted(cipher.encrypt(v as never, 'x:'))
      const d = (require('node:crypto') as typeof import('node:crypto')).createDecipheriv('aes-256-gcm', key, p.iv)
      d.setAAD(Buffer.from('x:'))
      d.setAuthTag(p.tag)
      return Buffer.concat([d.update(p.data), d.final()]).toString()
    }
    expect(plain(true)).toBe('True')
    expect(plain(false)).toBe('False')
    expect(plain(1e21)).toBe('1000000000000000000000')
    expect(plain(1e-7)).toBe('0.0000001')
    expect(plain(2.0)).toBe('2')
  })

  it('leaves empty strings and empty comments unencrypted', () => {
    const cipher = new ValueCipher(randomBytes(32))
    expect(cipher.encrypt('', 'a:')).toBe('')
    expect(cipher.encrypt(new Comment(''), 'a:')).toBe('')
    expect(cipher.decrypt('', 'a:')).toBe('')
  })

  it('rejects malformed values with a typed error and no plaintext in the message', () => {
    const cipher = new ValueCipher(randomBytes(32))
    for (const bad of ['plain', 'ENC[AES256_GCM,data:@@,iv:AA==,tag:AA==,type:str]', 'ENC[AES256_GCM,data:AA==,iv:AA=,tag:AA==,type:str]']) {
      expect(() => cipher.decrypt(bad, 'a:')).toThrow(DecryptValueError)
    }
    const enc = cipher.encrypt('x', 'a:').replace('type:str', 'type:weird')
    expect(() => cipher.decrypt(enc, 'a:')).toThrow(/Unknown datatype: weird/)
  })

  it('reuses the IV of an unchanged value decrypted earlier (stable ciphertext)', () => {
    const key = randomBytes(32)
    const first = new ValueCipher(key).encrypt('same', 'p:')
    const stash = new IvStash()
    const again = new ValueCipher(key, stash)
    again.decrypt(first, 'p:')
    expect(again.encrypt('same', 'p:')).toBe(first)
    expect(again.encrypt('changed', 'p:')).not.toBe(first)
    expect(again.encrypt('same', 'q:')).not.toBe(first)
    expect(again.encrypt(5n, 'p:')).not.toContain(parseEncrypted(first).iv.toString('base64'))
  })

  it('round-trips any unicode string (property)', () => {
    const cipher = new ValueCipher(randomBytes(32))
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (s, aad) => {
        expect(cipher.decrypt(cipher.encrypt(s, aad), aad)).toBe(s)
      }),
      { numRuns: 200 },
    )
  })

  it("decodes base64 as strictly as Go's StdEncoding", () => {
    expect(strictBase64('aGVsbG8=', 'data').toString()).toBe('hello')
    expect(strictBase64('', 'data').length).toBe(0)
    for (const bad of ['aGVsbG8', 'aGV sbG8=', 'aGV-bG8=', 'aGV_bG8=', 'aG!sbG8=', 'aG=sbG8=', 'aGVsbG8====', 'aGVsbG8\n=']) {
      expect(() => strictBase64(bad, 'data'), bad).toThrow(DecryptValueError)
    }
  })

  it('recognises encrypted values', () => {
    expect(isEncryptedValue(SOPS_MYAPP1)).toBe(true)
    expect(isEncryptedValue('ENC[nope')).toBe(false)
    expect(isEncryptedValue(3)).toBe(false)
  })
})
