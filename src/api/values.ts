/** Conversion between sops trees and plain JS values for library callers. */
import { Literal, Timestamp, TreeMap, TreeSeq, type Value } from '../core/tree.js'
import { GenericError } from '../core/errors.js'

export type PlainValue = string | number | bigint | boolean | Date | Uint8Array | null | PlainValue[] | { [key: string]: PlainValue }

/** Ints become numbers when they fit exactly, bigint otherwise; timestamps become Dates. */
export function toPlain(value: Value): PlainValue {
  if (value instanceof TreeMap) {
    const out: { [key: string]: PlainValue } = {}
    for (const { key, value: v } of value.entries()) {
      // Own data properties, defined rather than assigned: `__proto__` must become a key, not
      // the object's prototype, and `constructor` or `toString` must not read as present
      // through Object.prototype. The first of duplicate keys wins.
      if (!Object.hasOwn(out, key)) Object.defineProperty(out, key, { value: toPlain(v), writable: true, enumerable: true, configurable: true })
    }
    return out
  }
  if (value instanceof TreeSeq) return value.values().map(toPlain)
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value
  if (value instanceof Timestamp) return new Date(value.text)
  if (value instanceof Literal) return toPlain(value.value)
  return value
}

/** Plain JS object -> ordered tree (integral numbers become ints, like a JSON parse would). */
export function fromPlain(value: unknown, path = '$'): Value {
  if (value === null || value === undefined) return null
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return value
  if (typeof value === 'number') return Number.isInteger(value) && !Object.is(value, -0) ? BigInt(value) : value
  if (value instanceof Date) return new Timestamp(value.toISOString().replace('.000Z', 'Z'))
  if (value instanceof Uint8Array) return value
  if (Array.isArray(value)) return new TreeSeq(value.map((v, i) => fromPlain(v, `${path}[${i}]`)))
  if (typeof value === 'object') {
    return new TreeMap(Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: fromPlain(v, `${path}.${key}`) })))
  }
  throw new GenericError(`cannot encrypt a value of type ${typeof value} at ${path}`, { code: 'UNSUPPORTED_VALUE' })
}
