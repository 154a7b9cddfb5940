/**
 * Typed errors. Each class owns its sops exit code (spec §10) so scripts written for sops keep
 * working; call sites never pick a number. Messages never contain secret values.
 */

import type { KeyType } from './key-entry.js'

export interface ErrorOptions {
  hint?: string
  cause?: unknown
  /**
   * sops reports this failure through its logger (`log.Fatal`: an error its command returned
   * without an exit code of its own, or a bad flag), not as a bare line: under the sops name it
   * is printed as `[CMD]\t time="…" level=fatal msg="…"`, exit 1.
   */
  sopsLog?: 'fatal'
}

export class TsopsError extends Error {
  /** Stable machine-readable code, e.g. 'MAC_MISMATCH'. */
  readonly code: string = 'GENERIC'
  /** The process exit code sops uses for this failure. */
  readonly exitCode: number = 1
  readonly hint?: string
  readonly sopsLog?: 'fatal'

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.hint = options.hint
    if (options.sopsLog) this.sopsLog = options.sopsLog
  }
}

/** Exit 1: config problems, missing metadata, invalid version, … */
export class GenericError extends TsopsError {}

export class MetadataNotFoundError extends TsopsError {
  override readonly code = 'METADATA_NOT_FOUND'
  constructor(message = 'sops metadata not found', options?: ErrorOptions) {
    super(message, options)
  }
}

export class ConfigError extends TsopsError {
  override readonly code = 'CONFIG'
}

/** Exit 2: the input could not be read or parsed. */
export class ReadError extends TsopsError {
  override readonly code: string = 'READ'
  override readonly exitCode = 2
}

/**
 * Exit 2 with a position: malformed YAML/JSON/TOML/dotenv/INI. The message is sops's text; the
 * position (which sops does not print) is in the hint, so `tsops` shows it and `sops` does not.
 */
export class FormatError extends ReadError {
  override readonly code = 'PARSE'
  constructor(
    message: string,
    public readonly line?: number,
    public readonly column?: number,
    options?: ErrorOptions,
  ) {
    super(message, line === undefined ? (options ?? {}) : { hint: `at line ${line}${column === undefined ? '' : `, column ${column}`}`, ...options })
  }
}

/** Exit 3 */
export class WriteError extends TsopsError {
  override readonly code: string = 'WRITE'
  override readonly exitCode = 3
}

/** Exit 4 */
export class EmitError extends TsopsError {
  override readonly code: string = 'EMIT'
  override readonly exitCode = 4
}

/** Exit 4: the plaintext tree is not a binary store's single `data` value. */
export class BinaryEmitError extends EmitError {
  override readonly code = 'EMIT_BINARY'
}

/**
 * sops names the step that failed to serialize: decrypt says `Error dumping file: …`, every
 * command that writes an encrypted file `Could not marshal tree: …`, the INI store `Error
 * marshaling to INI: …`. Runs `emit` and re-issues its EmitError with that prefix (same class,
 * same exit code).
 */
export function emitting<T>(prefix: string, emit: () => T): T {
  try {
    return emit()
  } catch (err) {
    if (!(err instanceof EmitError)) throw err
    const Kind = err.constructor as new (message: string, options?: ErrorOptions) => EmitError
    throw new Kind(`${prefix}${err.message}`, { cause: err, ...(err.hint === undefined ? {} : { hint: err.hint }) })
  }
}

/** Exit 6 */
export class EncryptionContextFormatError extends TsopsError {
  override readonly code = 'ENCRYPTION_CONTEXT_FORMAT'
  override readonly exitCode = 6
}

/** Exit 7 */
export class SetFormatError extends TsopsError {
  override readonly code = 'SET_FORMAT'
  override readonly exitCode = 7
}

/** Exit 8 */
export class ConflictingParametersError extends TsopsError {
  override readonly code = 'CONFLICTING_PARAMETERS'
  override readonly exitCode = 8
}

/** Exit 21 */
export class EncryptMacError extends TsopsError {
  override readonly code = 'ENCRYPT_MAC'
  override readonly exitCode = 21
}

/** Exit 23 */
export class EncryptTreeError extends TsopsError {
  override readonly code = 'ENCRYPT_TREE'
  override readonly exitCode = 23
}

/** Exit 25: a value could not be decrypted (bad ENC format, auth failure, wrong AAD, not a string). */
export class DecryptValueError extends TsopsError {
  override readonly code = 'DECRYPT_VALUE'
  override readonly exitCode = 25
}

/** Exit 49 */
export class KeyChangeOnMissingFileError extends TsopsError {
  override readonly code = 'KEY_CHANGE_MISSING_FILE'
  override readonly exitCode = 49
}

/** Exit 51: the MAC did not verify. */
export class MacMismatchError extends TsopsError {
  override readonly code = 'MAC_MISMATCH'
  override readonly exitCode = 51
}

/** Exit 91 */
export class TreePathError extends TsopsError {
  override readonly code = 'TREE_PATH'
  override readonly exitCode = 91
}

/** Exit 92 */
export class EmptyDocumentError extends TsopsError {
  override readonly code = 'EMPTY_DOCUMENT'
  override readonly exitCode = 92
  constructor(message = 'File cannot be completely empty, it must contain at least one document', options?: ErrorOptions) {
    super(message, options)
  }
}

/** Exit 100 */
export class NoFileError extends TsopsError {
  override readonly code = 'NO_FILE'
  override readonly exitCode = 100
}

/** Exit 112 */
export class DuplicateDecryptionKeyTypeError extends TsopsError {
  override readonly code = 'DUPLICATE_DECRYPTION_KEY_TYPE'
  override readonly exitCode = 112
}

/** One master key tried for the data key (DataKeyError.groups). */
export interface KeyAttempt {
  type: KeyType
  id: string
  /** How sops's messages name the key (MasterKey.ToString; the id for most types). */
  label?: string
  /** Undefined for the key that succeeded. */
  reason?: string
}

/** One key group's outcome: whether a key of it recovered its part, and every key tried. */
export interface GroupResult {
  ok: boolean
  attempts: KeyAttempt[]
}

/**
 * Exit 128: no master key could recover the data key. `groups` lists, per key group, every key
 * tried and why it failed (empty when no key could be tried, e.g. a file without key groups);
 * `required` is how many groups had to succeed (0: one group, no Shamir threshold).
 */
export class DataKeyError extends TsopsError {
  override readonly code = 'NO_DATA_KEY'
  override readonly exitCode = 128
  readonly groups: readonly GroupResult[]
  readonly required: number
  constructor(message: string, details: { groups?: readonly GroupResult[]; required?: number } = {}, options?: ErrorOptions) {
    super(message, options)
    this.groups = details.groups ?? []
    this.required = details.required ?? 0
  }
}

/**
 * Exit 1: a library function was called with an option or argument it cannot use. Every one is
 * checked where it enters the library (src/api/validate.ts), with one message shape.
 */
export class InvalidOptionError extends TsopsError {
  override readonly code = 'INVALID_OPTION'
  /** The option or argument, as the caller spelled it (`shamirThreshold`, `age[1]`, `path`). */
  readonly option: string
  constructor(message: string, option: string) {
    super(message)
    this.option = option
  }
}

/** Exit 200 */
export class NotModifiedError extends TsopsError {
  override readonly code = 'NOT_MODIFIED'
  override readonly exitCode = 200
  constructor(message = 'File has not changed, exiting.', options?: ErrorOptions) {
    super(message, options)
  }
}

/** Exit 201 */
export class EditorError extends TsopsError {
  override readonly code = 'EDITOR'
  override readonly exitCode = 201
}

/** Exit 202 */
export class VersionCompareError extends TsopsError {
  override readonly code = 'VERSION_COMPARE'
  override readonly exitCode = 202
}

/** Exit 203 */
export class AlreadyEncryptedError extends TsopsError {
  override readonly code = 'ALREADY_ENCRYPTED'
  override readonly exitCode = 203
  constructor(message = ALREADY_ENCRYPTED_TEXT, options: ErrorOptions = {}) {
    super(message, options)
  }
}

/** sops's own text (cmd/sops/encrypt.go), line breaks included. */
const ALREADY_ENCRYPTED_TEXT = `The file you have provided contains a top-level entry called 'sops', or for
flat file formats top-level entries starting with 'sops_'. This is
generally due to the file already being encrypted. SOPS uses a top-level
entry called 'sops' to store the metadata required to decrypt the file. For
this reason, SOPS can not encrypt files that already contain such an entry.

If this is an unencrypted file, rename the 'sops' entry.

If this is an encrypted file and you want to edit it, use the editor mode,
for example: \`sops edit my_file.yaml\``

/**
 * Thrown by a child process wrapper (exec-env/exec-file): exit with the child's code. The message
 * is Go's os/exec wording, which sops prints: `exit status 3`, `signal: terminated`.
 */
export class ChildExitError extends TsopsError {
  override readonly code = 'CHILD_EXIT'
  override readonly exitCode: number
  constructor(exitCode: number, message = `exit status ${exitCode}`) {
    super(message)
    this.exitCode = exitCode
  }
}

/**
 * Exit 1 (sops's code for a command it cannot run): a sops subcommand tsops does not have yet.
 * Its name is never taken for a file to edit.
 */
export class UnsupportedCommandError extends TsopsError {
  override readonly code = 'UNSUPPORTED_COMMAND'
  constructor(command: string) {
    super(`the ${command} command is not supported by tsops yet`, { hint: 'See docs/migrating-from-sops.md for what tsops does not do yet.' })
  }
}

/** urfave/cli's answer to an unknown subcommand word: `No help topic for 'x'`, exit 3. */
export class UnknownHelpTopicError extends TsopsError {
  override readonly code = 'UNKNOWN_SUBCOMMAND'
  override readonly exitCode = 3
  constructor(word: string, usage?: string) {
    super(`No help topic for '${word}'`, { hint: usage })
  }
}
