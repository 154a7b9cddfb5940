/**
 * The contract every key source implements (one file per source in this folder).
 *
 * A master key wraps the data key (or, with several key groups, that group's Shamir share)
 * and unwraps it again. Sources are stateless apart from what they were built from; every
 * outside input (env, explicit identities, abort signal) comes through KeyContext so tests and
 * library callers inject it and nothing reads process.env deep inside.
 */

export type { KeyEntry, KeyFields, KeyType } from '../core/key-entry.js'
import type { KeyEntry, KeyType } from '../core/key-entry.js'
/** Type-only (nothing is loaded): brings the descriptors, which extend KeyType, into every program that names KeyType. */
export type { KnownKeySources } from './registry.js'

/** What a key spec carries besides its id (KMS only today; other sources ignore it). */
export interface KeySpecOptions {
  /** IAM role to assume. */
  role?: string
  /** Encryption context. */
  context?: Record<string, string>
  /** AWS shared-config profile. */
  awsProfile?: string
}

/** One master key as named by a config file, a CLI flag or an env var, before a source is built. */
export interface KeySpec extends KeySpecOptions {
  type: KeyType
  /**
   * age recipient / PGP fingerprint / KMS key ARN / GCP resource id /
   * Azure `https://vault/keys/name[/version]` / Vault transit URI / HuaweiCloud `region:uuid`.
   */
  id: string
}

export interface KeyContext {
  env: Readonly<Record<string, string | undefined>>
  /** Age identities passed explicitly (library callers), tried in addition to env/file sources. */
  ageIdentities?: readonly string[]
  signal?: AbortSignal
  /** Non-fatal notices (never containing secrets). */
  warn?: (message: string) => void
  /**
   * Files found through the environment (the default age key file, ~/.vault-token) are located
   * from `env` alone: no fallback to the process's home directory. For library callers that
   * pass inheritEnv: false, whose process environment must count for nothing.
   */
  envOnly?: boolean
  /** The clock `created_at` is stamped from when keys are wrapped (tests inject one); the system clock otherwise. */
  now?: () => Date
}

export interface KeySource {
  readonly type: KeyType
  /** What identifies the key to a person: recipient, fingerprint, ARN, URL. Used in messages and --rm-*. */
  readonly id: string
  /** How sops's messages name the key (MasterKey.ToString) when that is more than the id (KMS: `arn+role|context`). */
  readonly label?: string
  /** Encrypt a data key or share; returns this key's metadata entry (enc, created_at, …). */
  wrap(part: Uint8Array, ctx: KeyContext): Promise<KeyEntry>
  /**
   * Decrypt the `enc` of an entry made by this source's type. Throws KeyUnwrapError with the
   * reason ("no identity matched", "gpg: decryption failed: No secret key") when it cannot.
   */
  unwrap(entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array>
}

/** A failed unwrap; the reason is listed per key in the "could not decrypt" error (exit 128). */
export class KeyUnwrapError extends Error {
  constructor(
    readonly keyType: KeyType,
    readonly keyId: string,
    readonly reason: string,
  ) {
    super(`${keyType} key ${keyId}: ${reason}`)
    this.name = 'KeyUnwrapError'
  }
}
