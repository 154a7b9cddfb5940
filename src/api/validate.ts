/**
 * Every library argument and option is checked where it enters the library, before anything
 * is read, asked or written: a JavaScript caller has no compiler between it and us, and a bad
 * value must not surface as a RangeError deep inside, or end up in a file (a shamirThreshold of
 * -3 in the metadata). One error class (InvalidOptionError) and one message shape:
 *
 *   invalid option "shamirThreshold" for encrypt(): expected an integer from 1 to 255, got 1.5
 *
 * Values of options that may hold secrets (identities, env) are never shown, only their type.
 */
import { InvalidOptionError } from '../core/errors.js'
import { RULE_FIELDS } from '../core/rules.js'
import { FORMAT_NAMES } from '../formats/registry.js'
import { KEY_TYPES } from '../keys/registry.js'

interface Check {
  /** What a valid value is, after "expected". */
  expected: string
  valid: (value: unknown) => boolean
  /** Show only the type of a bad value, never the value. */
  secret?: boolean
}

type Checks = Readonly<Record<string, Check>>

const isString = (v: unknown): v is string => typeof v === 'string'
const nonEmptyString = (v: unknown): boolean => isString(v) && v !== ''
const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}
const arrayOf = (item: (v: unknown) => boolean) => (v: unknown) => Array.isArray(v) && v.every(item)
const oneOf = (names: readonly string[]) => (v: unknown) => isString(v) && names.includes(v)
const boolean: Check = { expected: 'true or false', valid: (v) => typeof v === 'boolean' }

const KEY_OPTIONS: Checks = {
  ageIdentities: { expected: 'an array of age identity strings', valid: arrayOf(isString), secret: true },
  env: {
    expected: 'an object of strings (or undefined)',
    // process.env itself is no plain object (its prototype is its own), yet a fine value.
    valid: (v) => (isPlainObject(v) || v === process.env) && Object.values(v as object).every((x) => x === undefined || isString(x)),
    secret: true,
  },
  inheritEnv: boolean,
  gnupgHome: { expected: 'a non-empty string', valid: nonEmptyString },
  decryptionOrder: {
    expected: `an array of distinct key types (${KEY_TYPES.join(', ')})`,
    valid: (v) => arrayOf(oneOf(KEY_TYPES))(v) && new Set(v as string[]).size === (v as string[]).length,
  },
  onWarning: { expected: 'a function', valid: (v) => typeof v === 'function' },
  signal: { expected: 'an AbortSignal', valid: (v) => v instanceof AbortSignal },
}

const FORMAT: Check = { expected: `one of ${FORMAT_NAMES.join(', ')}`, valid: oneOf(FORMAT_NAMES) }

const READ_OPTIONS: Checks = { ...KEY_OPTIONS, format: FORMAT, ignoreMac: boolean }

export const DECRYPT_OPTIONS: Checks = { ...READ_OPTIONS, output: { expected: '"text" (or no output option)', valid: (v) => v === 'text' } }

export const LOAD_OPTIONS: Checks = READ_OPTIONS

const KEY_SPEC: Check = {
  expected: `an array of { type, id } with type one of ${KEY_TYPES.join(', ')} and id a non-empty string`,
  valid: arrayOf((k) => isPlainObject(k) && oneOf(KEY_TYPES)(k.type) && nonEmptyString(k.id) && Object.keys(k).every((n) => n === 'type' || n === 'id')),
}

export const ENCRYPT_OPTIONS: Checks = {
  ...KEY_OPTIONS,
  format: FORMAT,
  age: { expected: 'an array of non-empty recipient strings', valid: arrayOf(nonEmptyString) },
  pgp: { expected: 'an array of non-empty fingerprint strings', valid: arrayOf(nonEmptyString) },
  keys: KEY_SPEC,
  // sops writes it as a Go int and Shamir needs at least one part: 1..255 parts exist.
  shamirThreshold: { expected: 'an integer from 1 to 255', valid: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 255 },
  ...Object.fromEntries(RULE_FIELDS.map(([name]) => [name, { expected: 'a string', valid: isString } satisfies Check])),
  macOnlyEncrypted: boolean,
}

/** `options` of `fn()`: a plain object (or undefined when optional) whose every defined entry passes its check. */
export function checkOptions(fn: string, options: unknown, checks: Checks, required: readonly string[] = []): void {
  if (options === undefined && required.length === 0) return
  if (!isPlainObject(options)) throw invalid(fn, 'option', 'options', 'an object of options', describe(options, false))
  for (const [name, value] of Object.entries(options)) {
    const check = Object.hasOwn(checks, name) ? checks[name] : undefined
    if (check === undefined) throw invalid(fn, 'option', name, `one of ${Object.keys(checks).join(', ')}`, 'an unknown option')
    if (value !== undefined && !check.valid(value)) throw invalid(fn, 'option', name, check.expected, describe(value, check.secret === true))
  }
  for (const name of required) {
    if (options[name] === undefined) throw invalid(fn, 'option', name, checks[name]!.expected, 'nothing')
  }
}

/** A positional argument of `fn()`. */
export function checkArgument(fn: string, name: string, value: unknown, check: Check): void {
  if (!check.valid(value)) throw invalid(fn, 'argument', name, check.expected, describe(value, check.secret === true))
}

export const PATH_ARGUMENT: Check = { expected: 'a non-empty file path string', valid: nonEmptyString }
export const TEXT_ARGUMENT: Check = { expected: 'a string or a Uint8Array', valid: (v) => isString(v) || v instanceof Uint8Array, secret: true }
export const ENCRYPT_INPUT: Check = {
  expected: 'a string, a Uint8Array or a plain object',
  valid: (v) => isString(v) || v instanceof Uint8Array || isPlainObject(v),
  secret: true,
}

function invalid(fn: string, kind: 'option' | 'argument', name: string, expected: string, got: string): InvalidOptionError {
  return new InvalidOptionError(`invalid ${kind} ${JSON.stringify(name)} for ${fn}(): expected ${expected}, got ${got}`, name)
}

/** What a bad value was: numbers, booleans and short non-secret strings as they are, anything else by its kind. */
function describe(value: unknown, secret: boolean): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Uint8Array) return 'a Uint8Array'
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return secret ? `a ${typeof value}` : String(value)
    case 'bigint':
      return secret ? 'a bigint' : `${value}n`
    case 'string':
      return secret || value.length > 80 ? 'a string' : JSON.stringify(value)
    case 'function':
      return 'a function'
    default:
      return typeof value === 'object' ? 'an object' : `a ${typeof value}`
  }
}
