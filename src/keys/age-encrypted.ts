/**
 * Passphrase-protected age identity files (`age-keygen | age -p -a > keys.age`), as sops's
 * age/encrypted_keys.go reads them: the file is one identity that, the first time a file's
 * stanzas need it, asks for the passphrase on the terminal, decrypts itself with scrypt, and
 * then tries the identities inside. Native identities are tried first (see age-identities.ts),
 * so a file that another key opens never prompts.
 *
 * sops first asks a running gpg-agent (pinentry); tsops asks the terminal only
 * (docs/keys.md). scrypt runs in node:crypto, not typage's pure-JS scrypt (seconds at logN 18).
 */
import { scrypt } from 'node:crypto'
import { chachaOpen } from './age-x25519.js'
import { decodeString } from './age-format.js'
import { goQuote } from './go-text.js'
import { errorText, loadAge } from './age-common.js'
import type { AgeIdentity, StanzaLike } from './age-ssh.js'

const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt'
/** age.NewScryptIdentity's default limit: 2^22 is already ~4 GiB·s of work. */
const MAX_WORK_FACTOR = 22

export interface EncryptedIdentityOptions {
  /** Asks for the passphrase (the terminal, in sops's words). */
  askPassphrase: (prompt: string) => Promise<string>
  warn?: (message: string, sopsLogger?: 'AGE') => void
}

/** The identity an encrypted identity file stands for (`contents`: the age file, armor removed). */
export function encryptedIdentity(contents: Buffer, location: string, options: EncryptedIdentityOptions): AgeIdentity {
  let inner: Promise<AgeIdentity[]> | undefined
  return {
    async unwrapFileKey(stanzas) {
      inner ??= decryptIdentityFile(contents, () => options.askPassphrase(`Enter passphrase for identity '${location}':`))
      for (const identity of await inner) {
        const fileKey = await identity.unwrapFileKey(stanzas)
        if (fileKey) return fileKey
      }
      options.warn?.(`encrypted identity '${location}' didn't match file's recipients`, 'AGE')
      return null
    },
  }
}

/** EncryptedIdentity.decrypt: the identities inside, or sops's reason. */
async function decryptIdentityFile(contents: Buffer, passphrase: () => Promise<string>): Promise<AgeIdentity[]> {
  const age = await loadAge()
  const decrypter = new age.Decrypter()
  decrypter.addIdentity({ unwrapFileKey: (stanzas: StanzaLike[]) => lazyScryptUnwrap(stanzas, passphrase) })
  let plaintext: Uint8Array
  try {
    plaintext = await decrypter.decrypt(contents)
  } catch (e) {
    if (/no identity matched/.test(errorText(e))) throw new Error('incorrect passphrase')
    throw new Error(`failed to decrypt identity file: ${errorText(e)}`)
  }
  try {
    return parseInnerIdentities(Buffer.from(plaintext).toString('utf8'), age)
  } finally {
    plaintext.fill(0)
  }
}

/** LazyScryptIdentity + ScryptIdentity: the passphrase is asked only for a lone scrypt stanza. */
async function lazyScryptUnwrap(stanzas: readonly StanzaLike[], passphrase: () => Promise<string>): Promise<Uint8Array | null> {
  if (stanzas.some((s) => s.args[0] === 'scrypt') && stanzas.length !== 1) throw new Error('an scrypt recipient must be the only one')
  const stanza = stanzas[0]
  if (stanzas.length !== 1 || stanza?.args[0] !== 'scrypt') return null
  let pass: string
  try {
    pass = await passphrase()
  } catch (e) {
    throw new Error(`could not read passphrase: ${errorText(e)}`)
  }
  const key = await scryptKey(stanza.args.slice(1), pass)
  if (stanza.body.length !== 32) throw new Error('invalid scrypt recipient block: incorrect file key size')
  try {
    return chachaOpen(key, Buffer.alloc(12), Buffer.from(stanza.body))
  } catch {
    return null // a wrong passphrase: "incorrect passphrase"
  }
}

/** The stanza's wrapping key, checked as age's ScryptIdentity checks the stanza. */
async function scryptKey(args: string[], pass: string): Promise<Buffer> {
  if (args.length !== 2) throw new Error('invalid scrypt recipient block')
  const salt = decodeString(args[0]!)
  if (!salt.ok) throw new Error(`failed to parse scrypt salt: ${salt.error}`)
  if (salt.bytes.length !== 16) throw new Error('invalid scrypt recipient block')
  if (!/^[1-9][0-9]*$/.test(args[1]!)) throw new Error(`scrypt work factor encoding invalid: ${goQuote(args[1]!)}`)
  const logN = Number(args[1])
  if (logN > MAX_WORK_FACTOR) throw new Error(`scrypt work factor too large: ${logN}`)
  const N = 2 ** logN
  return new Promise((resolve, reject) => {
    scrypt(pass, Buffer.concat([Buffer.from(SCRYPT_LABEL), salt.bytes]), 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/**
 * age.ParseIdentities over the decrypted file: X25519 and post-quantum identities, one a line.
 * (age quotes an unknown line in its error; tsops does not, as the line may be a secret.)
 */
function parseInnerIdentities(text: string, age: typeof import('age-encryption')): AgeIdentity[] {
  const out: AgeIdentity[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line === '' || line.startsWith('#')) return
    if (!line.startsWith('AGE-SECRET-KEY-1') && !line.startsWith('AGE-SECRET-KEY-PQ-1')) throw new Error(`error at line ${i + 1}: unknown identity type`)
    try {
      out.push(typageIdentity(line, age))
    } catch {
      throw new Error(`error at line ${i + 1}: malformed secret key`)
    }
  })
  if (out.length === 0) throw new Error('no identities found')
  return out
}

/**
 * A native identity string as an AgeIdentity. typage 0.3.1 exports no identity classes, so a
 * one-identity Decrypter does the unwrapping (its unwrapFileKey is private in the typings only).
 */
export function typageIdentity(identity: string, age: typeof import('age-encryption')): AgeIdentity {
  const decrypter = new age.Decrypter()
  decrypter.addIdentity(identity)
  const unwrap = (decrypter as unknown as { unwrapFileKey?: AgeIdentity['unwrapFileKey'] }).unwrapFileKey
  if (typeof unwrap !== 'function') throw new Error('age-encryption has no Decrypter.unwrapFileKey (version changed?)')
  return { unwrapFileKey: (stanzas) => unwrap.call(decrypter, stanzas) }
}
