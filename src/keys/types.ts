/**
 * The contract every key source implements (one file per source in this folder).
 *
 * A master key wraps the data key (or, with several key groups, that group's Shamir share)
 * and unwraps it again. Sources are stateless apart from what they were built from; every
 * outside input (env, explicit identities, abort signal) comes through KeyContext so tests and
 * library callers inject it and nothing reads process.env deep inside.
 */

export type { KeyEntry, KeyFields, KeyType } from '../core/key-entry.js'
import type { KeyEntry, KeyFields, KeyType } from '../core/key-entry.js'
import type { NetworkTimeouts } from './timeouts.js'

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
  /**
   * Non-fatal notices (never containing secrets). `sopsLogger` marks a warning sops itself logs
   * (its logger's name, e.g. AGE): under the name `sops` it is printed as sops's log line.
   */
  warn?: (message: string, sopsLogger?: 'AGE') => void
  /**
   * Files found through the environment (the default age key file, ~/.vault-token) are located
   * from `env` alone: no fallback to the process's home directory. For library callers that
   * pass inheritEnv: false, whose process environment must count for nothing.
   */
  envOnly?: boolean
  /** The clock `created_at` is stamped from when keys are wrapped (tests inject one); the system clock otherwise. */
  now?: () => Date
  /**
   * Where master keys are used, tried in this order for each key until one succeeds (sops's
   * `--keyservice` list, the local service first unless disabled). Undefined: this process alone.
   */
  keyServices?: readonly KeyService[]
  /** Network bounds for KMS-style key sources (./timeouts.ts); the defaults when absent. Tests inject short ones. */
  timeouts?: Partial<NetworkTimeouts>
}

export interface KeySource {
  readonly type: KeyType
  /** What identifies the key to a person: recipient, fingerprint, ARN, URL. Used in messages and --rm-*. */
  readonly id: string
  /** How sops's messages name the key (MasterKey.ToString) when that is more than the id (KMS: `arn+role|context`). */
  readonly label?: string
  /**
   * The fields of this key's metadata entry that say which key it is (no enc, no created_at), as
   * its wrap writes them: what a remote key service is told about the key. Undefined for sources
   * that cannot be used through one.
   */
  readonly keyFields?: KeyFields
  /** Encrypt a data key or share; returns this key's metadata entry (enc, created_at, …). */
  wrap(part: Uint8Array, ctx: KeyContext): Promise<KeyEntry>
  /**
   * Decrypt the `enc` of an entry made by this source's type. Throws KeyUnwrapError with the
   * reason ("no identity matched", "gpg: decryption failed: No secret key") when it cannot.
   */
  unwrap(entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array>
}

/**
 * A place where master keys wrap and unwrap data keys: this process (LOCAL_KEY_SERVICE in
 * datakey.ts) or a sops key service reached over gRPC (src/keyservice). A failure is an Error
 * whose message is the reason listed for that service.
 */
export interface KeyService {
  wrap(key: KeySource, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry>
  unwrap(key: KeySource, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array>
}

/**
 * A failed unwrap; the reason is listed per key in the "could not decrypt" error (exit 128), the
 * hint (what to do: set credentials…) follows it for the `tsops` persona only.
 */
export class KeyUnwrapError extends Error {
  constructor(
    readonly keyType: KeyType,
    readonly keyId: string,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(`${keyType} key ${keyId}: ${reason}`)
    this.name = 'KeyUnwrapError'
  }
}
