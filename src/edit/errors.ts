/** Errors of the editing flows (exit codes as sops's, spec §10). */
import { TsopsError } from '../core/errors.js'

/** Ctrl+C / SIGTERM while editing or running a command (sops: exit 1, "User canceled operation"). */
export class CancelledError extends TsopsError {
  override readonly code = 'CANCELLED'
  constructor() {
    super('User canceled operation')
  }
}

/**
 * The edited file cannot be encrypted (syntax, a `sops` key, invalid metadata with -s). Keeps
 * the exit code of the underlying problem (2 for a syntax error, 203, 92, …).
 */
export class InvalidEditError extends TsopsError {
  override readonly code = 'INVALID_EDIT'
  override readonly exitCode: number
  constructor(message: string, cause: TsopsError, hint: string) {
    super(message, { cause, hint })
    this.exitCode = cause.exitCode
  }
}
