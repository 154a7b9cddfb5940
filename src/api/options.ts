/**
 * Library key options -> the KeyContext the key sources read. An app passes identities and
 * credentials explicitly (a secret manager, a test) instead of relying on the process's env.
 */
import type { KeyContext } from '../keys/types.js'
import { resolveDecryptionOrder } from '../keys/registry.js'

export interface KeyOptions {
  /** age identities (`AGE-SECRET-KEY-1…`, one or more per string), tried before SOPS_AGE_KEY & co. */
  ageIdentities?: string[]
  /**
   * Environment overrides for key settings and credentials (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD,
   * SOPS_GPG_EXEC, AWS_PROFILE, …), laid over process.env. A key set to `undefined` hides the
   * process's own value.
   */
  env?: Record<string, string | undefined>
  /**
   * false: read only `env` (and the options below), never process.env. Files located through the
   * environment (the default age key file, ~/.vault-token) are then read only when `env` itself
   * gives their location (HOME, XDG_CONFIG_HOME). Default true.
   */
  inheritEnv?: boolean
  /** The GnuPG home for PGP keys (GNUPGHOME). */
  gnupgHome?: string
  /** Key types to try first, e.g. ['age', 'pgp'] (else SOPS_DECRYPTION_ORDER, else age, pgp). */
  decryptionOrder?: string[]
  /** Non-fatal notices (an ignored setting, a skipped plugin identity); never contain secrets. */
  onWarning?: (message: string) => void
  /** Aborts key commands and key-service calls. */
  signal?: AbortSignal
}

/** A fresh context per call: age identities are loaded once per context, i.e. once per unwrap. */
export function keyContextFor(options: KeyOptions): KeyContext {
  const env: Record<string, string | undefined> = { ...(options.inheritEnv === false ? {} : process.env), ...options.env }
  if (options.gnupgHome !== undefined) env.GNUPGHOME = options.gnupgHome
  // envOnly: with inheritEnv false, not even the home directory comes from the process.
  return { env, ageIdentities: options.ageIdentities, warn: options.onWarning, signal: options.signal, envOnly: options.inheritEnv === false }
}

/** The option wins over SOPS_DECRYPTION_ORDER in the (overridden) env; a duplicate type is an error (exit 112). */
export function decryptionOrderFor(options: KeyOptions, ctx: KeyContext): readonly string[] {
  return resolveDecryptionOrder(options.decryptionOrder?.join(','), ctx.env)
}
