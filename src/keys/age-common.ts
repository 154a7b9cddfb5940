/**
 * What the age key source's files share: the lazily loaded typage module, sops's environment
 * variable names, Bech32 key checks in age's words, and redaction of identities from messages.
 */
import { bech32Decode } from './bech32.js'
import { goQuote } from './go-text.js'

export type AgeModule = typeof import('age-encryption')

let ageModule: Promise<AgeModule> | undefined
export function loadAge(): Promise<AgeModule> {
  ageModule ??= import('age-encryption')
  return ageModule
}

export const SOPS_AGE_KEY = 'SOPS_AGE_KEY'
export const SOPS_AGE_KEY_FILE = 'SOPS_AGE_KEY_FILE'
export const SOPS_AGE_KEY_CMD = 'SOPS_AGE_KEY_CMD'
export const SOPS_AGE_RECIPIENT = 'SOPS_AGE_RECIPIENT'
export const SOPS_AGE_SSH_PRIVATE_KEY_FILE = 'SOPS_AGE_SSH_PRIVATE_KEY_FILE'
export const SOPS_AGE_SSH_PRIVATE_KEY_CMD = 'SOPS_AGE_SSH_PRIVATE_KEY_CMD'

/** A Bech32 key of type `hrp` holding `size` bytes: age's reason when it is not. */
export function typedKeyProblem(text: string, hrp: string, size: number, badSize: string): string | undefined {
  const decoded = bech32Decode(text)
  if (!decoded.ok) return decoded.error
  if (decoded.hrp !== hrp) return `invalid type ${goQuote(decoded.hrp)}`
  return decoded.data.length === size ? undefined : badSize
}

export function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v !== ''
}

/**
 * Strip anything that looks like an age identity before text can reach a message: the Bech32
 * form `AGE-SECRET-KEY-[PQ-]1…` or `AGE-PLUGIN-NAME-1…` (a data part after a `1`, so the name of
 * a plugin binary, `age-plugin-tag`, stays readable).
 */
export function redact(text: string): string {
  return text.replace(/AGE-(?:SECRET-KEY|PLUGIN)-[A-Z0-9+._-]*?1[A-Z0-9]{6,}/gi, '[redacted age identity]')
}

export function errorText(e: unknown): string {
  return redact(e instanceof Error ? e.message : String(e))
}
