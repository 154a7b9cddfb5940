/**
 * SSH keys as age recipients and identities, as filippo.io/age/agessh (v1.3.1) does it, with
 * node:crypto only:
 *   ssh-ed25519: the Ed25519 key converted to X25519, the shared secret "tweaked" by the SSH key
 *     (HKDF of its wire form), then HKDF + ChaCha20-Poly1305 like the X25519 recipient;
 *   ssh-rsa: RSA-OAEP-SHA256 with the label "age-encryption.org/v1/ssh-rsa".
 * Both stanzas carry the key's short fingerprint (SHA-256 of the wire form, 4 bytes) so an
 * identity skips stanzas of other keys. The key formats are read in age-ssh-keys.ts.
 */
import { constants, createHash, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto'
import { b64NoPad, chachaOpen, chachaSeal, hkdf, x25519 } from './age-x25519.js'
import { decodeString } from './age-format.js'
import { goQuote } from './go-text.js'
import { parseSshPrivateKey, sshFingerprint, sshPrivateKeyWire, type SshPrivateKey, type SshPublicKey } from './age-ssh-keys.js'

export { parseSshPrivateKey, parseSshRecipient, type SshPublicKey } from './age-ssh-keys.js'

const ED25519_LABEL = 'age-encryption.org/v1/ssh-ed25519'
const RSA_LABEL = 'age-encryption.org/v1/ssh-rsa'
const BASEPOINT = Buffer.concat([Buffer.from([9]), Buffer.alloc(31)])
const ZERO_NONCE = Buffer.alloc(12)

/** An age stanza as typage hands it to identities: args[0] is the type. */
export interface StanzaLike {
  args: string[]
  body: Uint8Array
}

/** The stanza agessh's Wrap writes for `fileKey`. */
export function wrapToSsh(recipient: SshPublicKey, fileKey: Uint8Array): StanzaLike {
  const fingerprint = sshFingerprint(recipient.wire)
  if (recipient.type === 'ssh-rsa') {
    const body = publicEncrypt({ key: recipient.rsa!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(RSA_LABEL) }, fileKey)
    return { args: ['ssh-rsa', fingerprint], body }
  }
  const ephemeral = randomBytes(32)
  const share = x25519(ephemeral, BASEPOINT)
  const shared = tweak(recipient.wire, x25519(ephemeral, recipient.montgomery!))
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient.montgomery!]), ED25519_LABEL)
  return { args: ['ssh-ed25519', fingerprint, b64NoPad(share)], body: chachaSeal(wrapKey, ZERO_NONCE, Buffer.from(fileKey)) }
}

/** The shared secret multiplied by a scalar derived from the SSH key (binds the stanza to it). */
function tweak(wire: Buffer, shared: Buffer): Buffer {
  return x25519(hkdf(Buffer.alloc(0), wire, ED25519_LABEL), shared)
}

// ---- identities -----------------------------------------------------------------------------

/** An age identity in typage's shape: the file key, or null when no stanza is for it. */
export interface AgeIdentity {
  unwrapFileKey(stanzas: readonly StanzaLike[]): Uint8Array | null | Promise<Uint8Array | null>
}

/** agessh's Ed25519Identity / RSAIdentity. */
export function sshIdentity(key: SshPrivateKey): AgeIdentity {
  if (key.type === 'ssh-rsa') {
    const fingerprint = sshFingerprint(key.wire)
    return {
      unwrapFileKey: (stanzas) =>
        firstMatch(stanzas, 'ssh-rsa', (args, body) => {
          if (args.length !== 1) throw new Error('invalid ssh-rsa recipient block')
          if (args[0] !== fingerprint) return null
          try {
            return privateDecrypt({ key: key.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(RSA_LABEL) }, body)
          } catch {
            throw new Error('failed to decrypt file key: crypto/rsa: decryption error')
          }
        }),
    }
  }
  const wire = sshPrivateKeyWire(key)
  const fingerprint = sshFingerprint(wire)
  const secret = createHash('sha512').update(key.seed).digest().subarray(0, 32)
  const ours = x25519(secret, BASEPOINT)
  return {
    unwrapFileKey: (stanzas) =>
      firstMatch(stanzas, 'ssh-ed25519', (args, body) => {
        if (args.length !== 2) throw new Error('invalid ssh-ed25519 recipient block')
        const share = decodeString(args[1]!)
        if (!share.ok) throw new Error(`failed to parse ssh-ed25519 recipient: ${share.error}`)
        if (share.bytes.length !== 32) throw new Error('invalid ssh-ed25519 recipient block')
        if (args[0] !== fingerprint) return null
        let shared: Buffer
        try {
          shared = tweak(wire, x25519(secret, share.bytes))
        } catch {
          throw new Error('invalid X25519 recipient: bad input point: low order point')
        }
        try {
          return chachaOpen(hkdf(shared, Buffer.concat([share.bytes, ours]), ED25519_LABEL), ZERO_NONCE, Buffer.from(body))
        } catch {
          throw new Error('failed to decrypt file key: chacha20poly1305: message authentication failed')
        }
      }),
  }
}

/** agessh's multiUnwrap over the stanzas of one type: the first file key, null when none is ours. */
function firstMatch(stanzas: readonly StanzaLike[], type: string, unwrap: (args: string[], body: Uint8Array) => Uint8Array | null): Uint8Array | null {
  for (const s of stanzas) {
    if (s.args[0] !== type) continue
    const fileKey = unwrap(s.args.slice(1), s.body)
    if (fileKey) return fileKey
  }
  return null
}

/**
 * agessh's EncryptedSSHIdentity: harmless until a stanza is for its key; then the passphrase is
 * asked (sops's prompt, on the terminal), the key decrypted once and checked against the
 * public key it claimed to be.
 */
export function encryptedSshIdentity(publicKey: SshPublicKey, file: string, pem: string, askPassphrase: (prompt: string) => Promise<string>): AgeIdentity {
  const fingerprint = sshFingerprint(publicKey.wire)
  let decrypted: Promise<AgeIdentity> | undefined
  const decrypt = async (): Promise<AgeIdentity> => {
    let pass: string
    try {
      pass = await askPassphrase(`Enter passphrase for ${goQuote(file)}:`)
    } catch (e) {
      throw new Error(`failed to obtain passphrase: could not read passphrase for ${goQuote(file)}: ${e instanceof Error ? e.message : String(e)}`)
    }
    const parsed = parseSshPrivateKey(pem, Buffer.from(pass, 'utf8'))
    if ('error' in parsed) throw new Error(`failed to decrypt SSH key file: ${parsed.error}`)
    if (!('key' in parsed)) throw new Error('failed to decrypt SSH key file: x509: decryption password incorrect')
    if (!sshPrivateKeyWire(parsed.key).equals(publicKey.wire)) throw new Error('mismatched private and public SSH key')
    return sshIdentity(parsed.key)
  }
  return {
    unwrapFileKey: async (stanzas) => {
      if (!decrypted) {
        const mine = stanzas.filter((s) => s.args[0] === publicKey.type)
        if (mine.some((s) => s.args.length < 2)) throw new Error(`invalid ${publicKey.type} recipient block`)
        if (!mine.some((s) => s.args[1] === fingerprint)) return null
        decrypted = decrypt()
      }
      return (await decrypted).unwrapFileKey(stanzas)
    },
  }
}
