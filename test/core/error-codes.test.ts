/**
 * Error codes are a closed union (ERROR_CODES / ErrorCode in src/core/errors.ts): every error
 * tsops throws carries one of them, each code means one thing, and the exit codes are sops's.
 * Checked on the classes themselves and on every throw site in src/ (a code given where a
 * GenericError or another catch-all kind is thrown).
 */
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import * as core from '../../src/core/errors.js'
import { ERROR_CODES, GenericError, TsopsError, type ErrorCode } from '../../src/core/errors.js'
import { CancelledError, InvalidEditError } from '../../src/edit/errors.js'
import { KeyNotFoundError } from '../../src/tree/errors.js'
import { MergeConflictError } from '../../src/git/merge.js'
import { GitError } from '../../src/git/exec.js'
import { FileLockedError } from '../../src/io/lock.js'
import { CheckFailedError } from '../../src/check/types.js'
import { DataKeyUnavailableError } from '../../src/keys/datakey.js'
import * as library from '../../src/index.js'
import { REPO_ROOT } from '../helpers/paths.js'

const CODES = new Set<string>(ERROR_CODES)

/** One instance of every error class, with the code and exit code it must have (sops's exit codes: unchanged). */
const CLASSES: [TsopsError, ErrorCode, number][] = [
  [new core.MetadataNotFoundError(), 'METADATA_NOT_FOUND', 1],
  [new core.ConfigError('x'), 'CONFIG', 1],
  [new core.ReadError('x'), 'READ', 2],
  [new core.FormatError('x', 1, 2), 'PARSE', 2],
  [new core.WriteError('x'), 'WRITE', 3],
  [new FileLockedError('x'), 'LOCKED', 3],
  [new core.EmitError('x'), 'EMIT', 4],
  [new core.BinaryEmitError('x'), 'EMIT_BINARY', 4],
  [new core.EncryptionContextFormatError('x'), 'ENCRYPTION_CONTEXT_FORMAT', 6],
  [new core.SetFormatError('x'), 'SET_FORMAT', 7],
  [new core.ConflictingParametersError('x'), 'CONFLICTING_PARAMETERS', 8],
  [new core.EncryptMacError('x'), 'ENCRYPT_MAC', 21],
  [new core.EncryptTreeError('x'), 'ENCRYPT_TREE', 23],
  [new core.DecryptValueError('x'), 'DECRYPT_VALUE', 25],
  [new core.KeyChangeOnMissingFileError('x'), 'KEY_CHANGE_MISSING_FILE', 49],
  [new core.MacMismatchError('x'), 'MAC_MISMATCH', 51],
  [new core.TreePathError('x'), 'TREE_PATH', 91],
  [new core.EmptyDocumentError(), 'EMPTY_DOCUMENT', 92],
  [new core.NoFileError('x'), 'NO_FILE', 100],
  [new core.DuplicateDecryptionKeyTypeError('x'), 'DUPLICATE_DECRYPTION_KEY_TYPE', 112],
  [new core.DataKeyError('x'), 'NO_DATA_KEY', 128],
  [new DataKeyUnavailableError('x', [], 0), 'NO_DATA_KEY', 128],
  [new core.InvalidOptionError('x', 'o'), 'INVALID_OPTION', 1],
  [new core.NotModifiedError(), 'NOT_MODIFIED', 200],
  [new core.EditorError('x'), 'EDITOR', 201],
  [new core.VersionCompareError('x'), 'VERSION_COMPARE', 202],
  [new core.AlreadyEncryptedError(), 'ALREADY_ENCRYPTED', 203],
  [new core.ChildExitError(3), 'CHILD_EXIT', 3],
  [new core.UnsupportedCommandError('x'), 'UNSUPPORTED_COMMAND', 1],
  [new core.UnknownHelpTopicError('x'), 'UNKNOWN_SUBCOMMAND', 3],
  [new CancelledError(), 'CANCELLED', 1],
  [new InvalidEditError('x', new core.AlreadyEncryptedError(), 'h'), 'INVALID_EDIT', 203],
  [new KeyNotFoundError('x'), 'KEY_NOT_FOUND', 1],
  [new MergeConflictError('x'), 'MERGE_CONFLICT', 1],
  [new GitError('x'), 'GIT', 1],
  [new CheckFailedError('x'), 'CHECK_FAILED', 10],
]

/** Every .ts file under src/. */
function sources(dir = path.join(REPO_ROOT, 'src')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))
}
const SOURCES = sources().map((file) => ({ file: path.relative(REPO_ROOT, file), text: fs.readFileSync(file, 'utf8') }))

/** Codes a class owns: `override readonly code = 'X'`. */
const OWNED = SOURCES.flatMap(({ file, text }) => [...text.matchAll(/readonly code = '([A-Z_]+)'/g)].map((m) => ({ file, code: m[1]! })))
/** The classes whose options take a code: TsopsError's family (not, say, Azure's RestError). */
const FAMILY = new Set(['TsopsError', 'GenericError', 'ReadError', 'WriteError', 'EmitError', 'Kind'])
/** Codes given at throw sites: `code: 'X'` in the options of `new <family>(…)` (within a few lines). */
const GIVEN = SOURCES.flatMap(({ file, text }) =>
  [...text.matchAll(/new (\w+)\((?:(?!new \w+\()[^]){0,400}?\bcode: '([A-Z_]+)'/g)].filter((m) => FAMILY.has(m[1]!)).map((m) => ({ file, code: m[2]! })),
)

/** The catch-all kinds' defaults, given in their constructors (`super(message, { code: 'READ', …`). */
const DEFAULTS = SOURCES.flatMap(({ file, text }) => [...text.matchAll(/super\(message, \{ code: '([A-Z_]+)'/g)].map((m) => ({ file, code: m[1]! })))

describe('error codes', () => {
  it('form a closed list without repeats', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length)
    for (const code of ERROR_CODES) expect(code).toMatch(/^[A-Z][A-Z_]*[A-Z]$/)
  })

  it('every error class carries its own code and sops\'s exit code', () => {
    for (const [err, code, exit] of CLASSES) {
      expect(err).toBeInstanceOf(TsopsError)
      expect([err.name, err.code, err.exitCode]).toEqual([err.name, code, exit])
      expect(CODES.has(err.code)).toBe(true)
    }
  })

  it('every TsopsError class in src/ is in the table above', () => {
    // Subclasses of TsopsError's family (a plain `extends Error` is an internal signal, never thrown out).
    const declared = SOURCES.flatMap(({ text }) => [...text.matchAll(/^export class (\w+) extends (\w+)/gm)]).filter((m) => m[2] !== 'Error').map((m) => m[1]!)
    const listed = new Set(CLASSES.map(([e]) => e.constructor.name))
    expect(declared.filter((name) => !listed.has(name) && name !== 'GenericError')).toEqual([])
  })

  it('one class per code: no two classes own the same code (a subclass may keep its parent\'s)', () => {
    const owners = new Map<string, string[]>()
    for (const [err] of CLASSES) owners.set(err.code, [...(owners.get(err.code) ?? []), err.constructor.name])
    const shared = [...owners].filter(([, names]) => names.length > 1).map(([code, names]) => `${code}: ${names.join(', ')}`)
    expect(shared).toEqual(['NO_DATA_KEY: DataKeyError, DataKeyUnavailableError'])
  })

  it('every code written in src/ is in the list, and a throw site never borrows a class\'s code', () => {
    expect(GIVEN.length).toBeGreaterThan(100)
    expect([...OWNED, ...GIVEN, ...DEFAULTS].filter(({ code }) => !CODES.has(code))).toEqual([])
    const owned = new Set([...OWNED, ...DEFAULTS].map(({ code }) => code))
    const borrowed = GIVEN.filter(({ code }) => owned.has(code))
    expect(borrowed).toEqual([])
  })

  it('every code in the list is used (no dead codes)', () => {
    expect(DEFAULTS.map(({ code }) => code)).toEqual(['READ', 'WRITE', 'EMIT'])
    const used = new Set([...OWNED, ...GIVEN, ...DEFAULTS].map(({ code }) => code))
    expect(ERROR_CODES.filter((code) => !used.has(code) && code !== 'INTERNAL')).toEqual([])
  })

  it('no error is thrown without a code: GenericError needs one, a bare TsopsError names one', () => {
    expect(() => new GenericError('x', { code: 'USAGE' })).not.toThrow()
    const bare = SOURCES.flatMap(({ file, text }) => [...text.matchAll(/new TsopsError\((.*)$/gm)].filter((m) => !/\bcode:/.test(m[1]!)).map((m) => `${file}: ${m[0]}`))
    expect(bare).toEqual([])
    // A GenericError without a code does not type-check (kept here as a compile-time assertion).
    // @ts-expect-error: the options with a code are required
    expect(new GenericError('x').code).toBe('INTERNAL')
  })

  it('a library failure that used to be a bare GENERIC says what failed', async () => {
    await expect(library.encrypt('a: 1\n', { format: 'yaml', inheritEnv: false })).rejects.toMatchObject({ code: 'NO_KEYS', exitCode: 1 })
    await expect(library.decrypt('a: 1\n', { format: 'nope' as never, inheritEnv: false })).rejects.toBeInstanceOf(TsopsError)
  })

  it('the library exports the list and every class, and errors keep their code across a re-issue', () => {
    expect(library.ERROR_CODES).toBe(ERROR_CODES)
    const err = new core.EmitError('boom', { code: 'UNSUPPORTED_VALUE' })
    const reissued = (() => {
      try {
        return core.emitting('Error dumping file: ', () => {
          throw err
        })
      } catch (e) {
        return e as core.EmitError
      }
    })()
    expect([reissued.code, reissued.exitCode, reissued.message]).toEqual(['UNSUPPORTED_VALUE', 4, 'Error dumping file: boom'])
  })
})
