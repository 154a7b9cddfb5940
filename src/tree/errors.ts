/** Errors of tree edits (exit codes as sops's, spec §10). */
import { TsopsError } from '../core/errors.js'

/** `unset` of a missing key or index: sops's SopsKeyNotFound (exit 1; `--idempotent` accepts it). */
export class KeyNotFoundError extends TsopsError {
  override readonly code = 'KEY_NOT_FOUND'
}
