/**
 * What the keyless checker reports. A problem names a file and, for values and comments, the
 * key path (`database.password`) — never a value: reports go to terminals, CI logs and JSON.
 */
import { TsopsError } from '../core/errors.js'
import type { FormatName } from '../formats/format.js'

export type ProblemKind =
  /** The bytes do not parse as an encrypted file of the format. */
  | 'unreadable'
  /** No sops metadata: a plaintext file where an encrypted one is required. */
  | 'not-encrypted'
  /** The metadata is present but sops would refuse it (or it cannot protect anything). */
  | 'invalid-metadata'
  /** A value the file's own rules say is encrypted is in clear text. */
  | 'plaintext-value'
  /** A value looks encrypted but is not a well-formed ENC[AES256_GCM,…]. */
  | 'malformed-value'
  /** A comment the rules say is encrypted is in clear text. */
  | 'plaintext-comment'
  /** The file still holds the conflict markers of `tsops git merge`. */
  | 'merge-conflict'
  /** --verify-mac: the values could not be decrypted or the MAC did not verify. */
  | 'mac'

export interface Problem {
  kind: ProblemKind
  /** Dotted key path of the value or comment container; absent for whole-file problems. */
  path?: string
  /** One line, for people; never contains a value. */
  message: string
  /** How many leaves at this path share the problem (list elements share their path). */
  count?: number
  /** A syntax error's line, masked (formats/excerpt.ts: structure only, never text), with a caret. */
  excerpt?: string
}

export interface FileReport {
  /** As the caller named it (repo-relative for the git guard). */
  file: string
  format: FormatName
  ok: boolean
  problems: Problem[]
  /**
   * Where tsops commands for this file must run (the directory of its .sops.yaml, which tsops
   * finds from the working directory) when that is not where the report is read: the directory
   * and the file relative to it.
   */
  runFrom?: { dir: string; file: string }
  /** `tsops check --since`: the commit (abbreviated) that brought this version of the file. */
  commit?: string
}

/**
 * Exit status of `tsops check` and `tsops git pre-commit` when at least one file fails. Not one
 * of sops's codes (spec §10), so scripts can tell "a file is bad" (10) from "the tool could not
 * run" (1 usage/config, 2 unreadable input, 100 no such file).
 */
export const CHECK_FAILED_EXIT_CODE = 10

export class CheckFailedError extends TsopsError {
  override readonly code = 'CHECK_FAILED'
  override readonly exitCode = CHECK_FAILED_EXIT_CODE
}
