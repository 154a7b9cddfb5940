// bcrypt_pbkdf against the golden vectors of golang.org/x/crypto/ssh/internal/bcrypt_pbkdf (which
// sops uses to open passphrase-protected OpenSSH keys), and Blowfish's pi-derived state.
import { describe, expect, it } from 'vitest'
import { bcryptPbkdf } from '../../src/keys/bcrypt-pbkdf.js'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

describe('bcrypt_pbkdf', () => {
  it.each([
    [12, 'password', 'salt', '1ae42c05d487bc02f64921a4ebe4ea93bcacfe135fda99974c06b7b01fae149a'],
    [3, 'passwordy\0PASSWORD\0', 'salty\0SALT\0', '7f310bd3e78c3280c59ce4595211a2928e8d4ec744c1ed2efc9f764e3388e0ad'],
    [
      8,
      'секретное слово',
      'посолить немножко',
      `8df43fc6fe131fc47f0c9e39224bd94c70b6fcc8ee8135faddf61156e6cb2733ea765f315a3e1e4afc35bf8687d189254c1e05a6fe80c0617f9183d67260d6a115c6c94e3603e2303fbb43a76a64523ffda686b1d4518543`,
    ],
  ])('rounds %i: %j / %j', (rounds, pass, salt, want) => {
    const expected = hex(want)
    expect(bcryptPbkdf(Buffer.from(pass), Buffer.from(salt), expected.length, rounds).toString('hex')).toBe(expected.toString('hex'))
  })

  it('refuses what OpenBSD refuses (no passphrase, no rounds)', () => {
    expect(() => bcryptPbkdf(Buffer.alloc(0), Buffer.from('s'), 32, 4)).toThrow('bcrypt_pbkdf: invalid parameters')
    expect(() => bcryptPbkdf(Buffer.from('p'), Buffer.from('s'), 32, 0)).toThrow('bcrypt_pbkdf: invalid parameters')
  })
})
