/**
 * Typed errors. Each class owns its sops exit code (spec §10) so scripts written for sops keep
 * working; call sites never pick a number. Messages never contain secret values.
 */

import type { KeyType } from './key-entry.js'

/**
 * Every `code` a TsopsError carries: a closed list, one meaning per code (docs/library.md). An
 * error class owns its code; the catch-all kinds (GenericError, ReadError, WriteError,
 * EmitError) are given one where they are thrown, saying what failed. A new failure picks the
 * code that means it, or adds one here (test/core/error-codes.test.ts keeps the list closed).
 */
export const ERROR_CODES = [
  // owned by a class (exit code in brackets)
  'METADATA_NOT_FOUND', // MetadataNotFoundError [1]
  'CONFIG', // ConfigError [1]
  'READ', // ReadError [2]: the input could not be read
  'PARSE', // FormatError [2]
  'WRITE', // WriteError [3]
  'LOCKED', // FileLockedError [3]
  'EMIT', // EmitError [4]
  'EMIT_BINARY', // BinaryEmitError [4]
  'ENCRYPTION_CONTEXT_FORMAT', // [6]
  'SET_FORMAT', // [7]
  'CONFLICTING_PARAMETERS', // [8]
  'ENCRYPT_MAC', // [21]
  'ENCRYPT_TREE', // [23]
  'DECRYPT_VALUE', // [25]
  'KEY_CHANGE_MISSING_FILE', // [49]
  'MAC_MISMATCH', // [51]
  'TREE_PATH', // [91]
  'EMPTY_DOCUMENT', // [92]
  'NO_FILE', // [100]
  'DUPLICATE_DECRYPTION_KEY_TYPE', // [112]
  'NO_DATA_KEY', // DataKeyError [128]
  'INVALID_OPTION', // InvalidOptionError [1]
  'NOT_MODIFIED', // [200]
  'EDITOR', // [201]
  'VERSION_COMPARE', // [202]
  'ALREADY_ENCRYPTED', // [203]
  'CHILD_EXIT', // ChildExitError [the child's]
  'UNSUPPORTED_COMMAND', // UnsupportedCommandError [1]
  'UNKNOWN_SUBCOMMAND', // UnknownHelpTopicError [3]
  'CANCELLED', // CancelledError (edit)
  'INVALID_EDIT', // InvalidEditError (edit)
  'KEY_NOT_FOUND', // KeyNotFoundError (tree)
  'MERGE_CONFLICT', // MergeConflictError (git)
  'GIT', // GitError (git)
  'CHECK_FAILED', // CheckFailedError (check)
  // given where a GenericError (exit 1) or a base error is thrown
  'USAGE', // wrong arguments to a command
  'BAD_FLAG', // a flag's value cannot be used, or flags that exclude each other
  'UNSUPPORTED_FLAG', // a sops flag tsops does not do
  'UNSUPPORTED_MODE', // a sops legacy mode tsops does not do
  'COMMAND_NOT_BUNDLED', // the build lacks a command's code
  'FILE_NOT_FOUND', // a named file (not the input) cannot be opened
  'DIRECTORY_UNREADABLE', // a directory to walk cannot be listed
  'SOME_FILES_FAILED', // a multi-file command: at least one file failed
  'CONFIG_NOT_FOUND', // no .sops.yaml where one is needed
  'NO_CREATION_RULE', // .sops.yaml has no rule for the file
  'CONFIRMATION_NEEDED', // a change needs a yes that could not be asked for or was not given
  'UNKNOWN_FORMAT', // --input-type/--output-type or the file name names no format
  'INVALID_METADATA', // the sops metadata is malformed
  'NO_KEYS_IN_FILE', // the metadata lists no master key
  'NO_KEYS', // nothing to encrypt to: no key given, no rule
  'BAD_KEY', // a key (ARN, URL, recipient, resource id) that cannot be parsed
  'UNKNOWN_KEY_TYPE', // a key type tsops does not know
  'UNSUPPORTED_KEY_TYPE', // a key type tsops knows but does not do (plugins, SSH, not built)
  'BAD_IDENTITY_FILE', // an age identity file without a usable identity
  'BAD_ENVIRONMENT', // an environment variable's value cannot be used
  'BAD_CREDENTIALS', // cloud credentials that cannot be read
  'KEY_WRAP_FAILED', // a master key could not encrypt the data key
  'EMPTY_KEY_GROUP', // a key group without keys
  'NO_SUCH_KEY_GROUP', // a key group index past the last group
  'NO_MASTER_KEY_LEFT', // removing keys would leave the file (or a group) without one
  'THRESHOLD_UNREACHABLE', // fewer key groups than the Shamir threshold
  'PATH_NOT_FOUND', // --extract and the like: the path is not in the tree
  'BAD_TREE_PATH', // unset: a path that cannot address the tree
  'UNSUPPORTED_VALUE', // a value a format or the environment cannot hold
  'UNSUPPORTED_EXTRACT', // --extract of a single value in a format that cannot print one
  'FLATTEN_COLLISION', // flattening makes two keys one
  'TERRAFORM_QUERY', // the Terraform external data source query is unusable
  'TERRAFORM_NOT_OBJECT', // Terraform needs a map or list
  'LOAD_FAILED', // filestatus: the file could not be loaded
  'NOT_A_GIT_REPO', // git commands outside a work tree
  'BAD_REVISION', // a git revision that does not resolve
  'INSTALLATION_BROKEN', // a file of the tsops installation is missing
  'HOOK_CONFLICT', // a git hook of another tool is in the way
  'NO_CONFLICT', // resolve: no conflict markers
  'NOT_SOPS_CONFLICT', // resolve: the conflict is not between two sops files
  'CONFLICT_UNRESOLVED', // resolve: the conflict is still there
  'MERGE_TOOL_FAILED', // git merge-file failed
  'PUBLISH_FAILED', // publish: a destination (S3, GCS, Vault KV) refused or did not answer
  'KEY_SERVICE', // keyservice: the server cannot start or serve
  'INTERNAL', // a TsopsError thrown without a code: a bug in tsops
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ErrorOptions {
  /**
   * What failed, for the catch-all kinds (GenericError requires it); a class that owns its code
   * ignores this. A re-issued error may pass on its cause's code.
   */
  code?: ErrorCode
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
  /** Stable machine-readable code, e.g. 'MAC_MISMATCH' (one of ERROR_CODES). */
  readonly code: ErrorCode
  /** The process exit code sops uses for this failure. */
  readonly exitCode: number = 1
  readonly hint?: string
  readonly sopsLog?: 'fatal'

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    // A class that owns its code sets it again as a field, after this.
    this.code = options.code ?? 'INTERNAL'
    this.hint = options.hint
    if (options.sopsLog) this.sopsLog = options.sopsLog
  }
}

/** Exit 1: the failures sops reports without an exit code of its own; `code` says what failed. */
export class GenericError extends TsopsError {
  constructor(message: string, options: ErrorOptions & { code: ErrorCode }) {
    super(message, options)
  }
}

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
  override readonly exitCode = 2
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { code: 'READ', ...options })
  }
}

/**
 * Exit 2 with a position: malformed YAML/JSON/TOML/dotenv/INI. The message is sops's text; the
 * position (which sops does not print) is in the hint, so `tsops` shows it and `sops` does not.
 */
export class FormatError extends ReadError {
  override readonly code = 'PARSE'
  /**
   * The failing line, masked, with a caret under the column (formats/excerpt.ts): set by the
   * code that holds the input; the `tsops` persona prints it after the hint.
   */
  excerpt?: string
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
  override readonly exitCode = 3
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { code: 'WRITE', ...options })
  }
}

/** Exit 4 */
export class EmitError extends TsopsError {
  override readonly exitCode = 4
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { code: 'EMIT', ...options })
  }
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
    throw new Kind(`${prefix}${err.message}`, { code: err.code, cause: err, ...(err.hint === undefined ? {} : { hint: err.hint }) })
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
  /**
   * With key services (--keyservice), one reason per service tried, in order, when that is not
   * exactly one (none at all: every service was disabled); `reason` is then the first, if any.
   */
  reasons?: readonly string[]
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
