import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Decrypter, Encrypter, armor, generateIdentity, identityToRecipient } from 'age-encryption'
import { armor as nativeArmor, dearmor, decryptX25519, encryptX25519, parseX25519Identity, parseX25519Recipient } from '../../src/keys/age-x25519.js'

// The native X25519 path must agree with typage (the age author's implementation) on every file.
async function encryptTo(recipients: string[], data: Uint8Array): Promise<string> {
  const e = new Encrypter()
  for (const r of recipients) e.addRecipient(r)
  return armor.encode(await e.encrypt(data))
}

describe('native X25519 age decryption', () => {
  it('decrypts what typage encrypts: empty, 32 bytes, exactly one chunk, several chunks', async () => {
    const identity = await generateIdentity()
    const recipient = await identityToRecipient(identity)
    const native = parseX25519Identity(identity)!
    expect(native).toBeDefined()
    for (const size of [0, 32, 33, 64 * 1024, 64 * 1024 + 1, 200_000]) {
      const data = randomBytes(size)
      const result = decryptX25519(dearmor(await encryptTo([recipient], data)), [native])
      expect(result.status).toBe('ok')
      expect(result.status === 'ok' && result.plaintext.equals(data)).toBe(true)
    }
  })

  it('finds the right stanza among several recipients, and reports no match for a stranger', async () => {
    const ids = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    const recipients = await Promise.all(ids.slice(0, 2).map((i) => identityToRecipient(i)))
    const file = dearmor(await encryptTo(recipients, Buffer.from('data')))
    const second = decryptX25519(file, [parseX25519Identity(ids[1]!)!])
    expect(second.status === 'ok' && second.plaintext.toString()).toBe('data')
    expect(decryptX25519(file, [parseX25519Identity(ids[2]!)!]).status).toBe('no-match')
  })

  it('rejects tampering with the header or the payload', async () => {
    const identity = await generateIdentity()
    const native = parseX25519Identity(identity)!
    const file = dearmor(await encryptTo([await identityToRecipient(identity)], randomBytes(32)))
    expect(file.error).toBeUndefined()
    const payloadFlip = Buffer.from(file.data)
    payloadFlip[payloadFlip.length - 1]! ^= 1
    // age's words, as sops prints them after "failed to copy age decrypted data into bytes.Buffer: ".
    expect(decryptX25519(payloadFlip, [native])).toEqual({
      status: 'error',
      stage: 'copy',
      error: 'failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with',
    })
    const headerFlip = Buffer.from(file.data)
    const macLine = headerFlip.indexOf('--- ')
    headerFlip[macLine - 2]! ^= 1 // inside the stanza body: either no match or a MAC failure
    expect(['no-match', 'error']).toContain(decryptX25519(headerFlip, [native]).status)
    const macFlip = Buffer.from(file.data)
    macFlip[macLine + 5]! ^= 1 // the MAC itself (one base64 letter)
    expect(decryptX25519(macFlip, [native])).toMatchObject({ status: 'error', stage: 'reader' })
  })

  // As age v1.3.1's stream reader (the C2SP CCTV stream_* vectors, all of them in test/interop/age-cctv.test.ts).
  it('reads the payload as age does: trailing data after a full final chunk, a missing final chunk', async () => {
    const secret = await generateIdentity()
    const identity = parseX25519Identity(secret)!
    const recipient = parseX25519Recipient(await identityToRecipient(secret))
    const copyError = (file: Buffer) => decryptX25519(file, [identity])
    const full = encryptX25519(randomBytes(64 * 1024), [recipient!])
    expect(copyError(full).status).toBe('ok')
    expect(copyError(Buffer.concat([full, Buffer.from('x')]))).toEqual({ status: 'error', stage: 'copy', error: 'trailing data after end of encrypted file' })
    const twoChunks = encryptX25519(randomBytes(64 * 1024 + 10), [recipient!])
    expect(copyError(twoChunks.subarray(0, twoChunks.length - 26))).toEqual({ status: 'error', stage: 'copy', error: 'unexpected EOF' })
  })

  it('reports a damaged header in age\'s words', () => {
    const notAge = decryptX25519(Buffer.from('hello\n'), [])
    expect(notAge).toEqual({ status: 'error', stage: 'reader', error: 'failed to read header: parsing age header: unexpected intro: "hello\\n"' })
    expect(decryptX25519(Buffer.from(''), [])).toMatchObject({ error: 'failed to read header: parsing age header: file is empty' })
    expect(decryptX25519(Buffer.from('age-encryption.org/v1\n-> X25519\n'), [])).toMatchObject({ error: 'failed to read header: failed to parse header: failed to read line: EOF' })
  })

  // C2SP CCTV's x25519_identity and x25519_low_order (all of them run in test/interop/age-cctv.test.ts):
  // OpenSSL refuses to derive the all-zero secret and threw out of decryptX25519.
  it('refuses a low-order X25519 share as age does, without throwing', () => {
    const identity = parseX25519Identity('AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0')!
    for (const share of ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEdc']) {
      const file = Buffer.from(`age-encryption.org/v1\n-> X25519 ${share}\nW3E/OCRme9TiTY97JoK31Z71arNur77WIIdB90XnN3M\n--- Pne3IPMDvBj7wRbPMcNViffpVZAx814tgMxp8AwyMhs\n${'x'.repeat(40)}`)
      expect(decryptX25519(file, [identity])).toEqual({ status: 'error', stage: 'reader', error: 'invalid X25519 recipient: crypto/ecdh: bad X25519 remote ECDH input: low order point' })
    }
  })

  it('leaves post-quantum identities and other stanza types to typage', () => {
    expect(parseX25519Identity('AGE-SECRET-KEY-PQ-1XYZ')).toBeUndefined()
    const scrypt = Buffer.from(`age-encryption.org/v1\n-> scrypt c2FsdA 10\nAAAA\n--- ${'A'.repeat(43)}\n`)
    expect(decryptX25519(scrypt, []).status).toBe('unsupported')
  })
})

describe('native X25519 age encryption', () => {
  it('writes files typage (the age author\'s implementation) decrypts: empty, 32 bytes, chunk edges, several recipients', async () => {
    const ids = await Promise.all([generateIdentity(), generateIdentity()])
    const recipients = await Promise.all(ids.map((i) => identityToRecipient(i)))
    const keys = recipients.map((r) => parseX25519Recipient(r)!)
    for (const size of [0, 32, 33, 64 * 1024, 64 * 1024 + 1, 150_000]) {
      const data = randomBytes(size)
      const text = nativeArmor(encryptX25519(data, keys))
      for (const identity of ids) {
        const d = new Decrypter()
        d.addIdentity(identity)
        expect(Buffer.from(await d.decrypt(armor.decode(text))).equals(data)).toBe(true)
        const native = decryptX25519(dearmor(text), [parseX25519Identity(identity)!])
        expect(native.status === 'ok' && native.plaintext.equals(data)).toBe(true)
      }
    }
  })

  it('armors like age -a: 64-column lines and a final newline', () => {
    const key = parseX25519Recipient('age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun')!
    const text = nativeArmor(encryptX25519(randomBytes(32), [key]))
    const lines = text.split('\n')
    expect(lines[0]).toBe('-----BEGIN AGE ENCRYPTED FILE-----')
    expect(text.endsWith('-----END AGE ENCRYPTED FILE-----\n')).toBe(true)
    for (const line of lines.slice(1, -2)) expect(line.length).toBeLessThanOrEqual(64)
  })

  it('leaves other recipient kinds to typage', () => {
    expect(parseX25519Recipient('age1pq1xyz')).toBeUndefined()
    expect(parseX25519Recipient('ssh-ed25519 AAAA')).toBeUndefined()
    expect(parseX25519Recipient('age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvuX')).toBeUndefined()
  })
})

describe('encrypting under garbage-collection pressure', () => {
  // Node 20 deadlocks for good when a GC during KeyObject.export() frees the job of a
  // generateKeyPairSync (~KeyGenJob takes the mutex the export holds): the old ephemeral-key code
  // hung `sops encrypt` now and then. A child process with a tiny young generation makes GCs
  // frequent enough that the old code hangs within the loop; the test's own timeout catches it.
  const RECIPIENT = 'age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun'
  it('many encryptions in a row finish (no generateKeyPairSync in the ephemeral key)', async () => {
    const { build } = await import('esbuild')
    const { spawnSync } = await import('node:child_process')
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-x25519-gc-'))
    try {
      const entry = path.join(dir, 'entry.ts')
      const source = fileURLToPath(new URL('../../src/keys/age-x25519.ts', import.meta.url))
      fs.writeFileSync(
        entry,
        `import { encryptX25519, parseX25519Recipient } from ${JSON.stringify(source)}\n` +
          `const r = parseX25519Recipient(${JSON.stringify(RECIPIENT)})!\n` +
          // Small short-lived objects between encryptions keep the young generation churning.
          `const junk: unknown[] = []\n` +
          `for (let i = 0; i < 20000; i++) { encryptX25519(Buffer.from('k'), [r]); junk.push({ i }); if (junk.length > 1000) junk.length = 0 }\n` +
          `process.stdout.write('done')\n`,
      )
      const out = path.join(dir, 'run.cjs')
      await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'silent' })
      const r = spawnSync(process.execPath, ['--max-semi-space-size=1', out], { encoding: 'utf8', timeout: 25_000 })
      expect(r.signal, 'the child hung (killed by the timeout)').toBeNull()
      expect(r.stdout).toBe('done')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
