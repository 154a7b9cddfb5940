/**
 * yaml.v3's `resolve()` for plain scalars (go.yaml.in/yaml/v3 v3.0.4 resolve.go), reproduced
 * exactly: sops hashes clear values in the type yaml.v3 gives them (spec §5.1, §4.1), and the
 * emitter quotes every string that would come back as another type.
 */
import { formatGoTime, isInt64, validDateTime } from '../core/gofmt.js'

export type ResolvedTag = Resolved['tag']

export type Resolved =
  | { tag: 'null'; value: null }
  | { tag: 'bool'; value: boolean }
  | { tag: 'int' | 'uint'; value: bigint }
  | { tag: 'float'; value: number }
  | { tag: 'timestamp'; value: string }
  | { tag: 'str'; value: string }

const MAP: ReadonlyMap<string, Resolved> = new Map<string, Resolved>([
  ...['true', 'True', 'TRUE'].map((s) => [s, { tag: 'bool', value: true }] as const),
  ...['false', 'False', 'FALSE'].map((s) => [s, { tag: 'bool', value: false }] as const),
  ...['', '~', 'null', 'Null', 'NULL'].map((s) => [s, { tag: 'null', value: null }] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, { tag: 'float', value: NaN }] as const),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, { tag: 'float', value: Infinity }] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, { tag: 'float', value: -Infinity }] as const),
])

/** resolveTable: the first byte decides which parsers are even tried. */
function hint(s: string): 'M' | '.' | 'D' | 'S' | undefined {
  const c = s[0]
  if (c === undefined) return 'M'
  if (c === '+' || c === '-') return 'S'
  if (c >= '0' && c <= '9') return 'D'
  if (c === '.') return '.'
  if ('yYnNtTfFoO~'.includes(c)) return 'M'
  return undefined
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/
const UINT64_MAX = 2n ** 64n - 1n

/**
 * The untagged resolution of a plain scalar's value. `timestamps` is false when an explicit
 * tag other than !!timestamp is present (yaml.v3 then does not try the time layouts).
 */
export function resolvePlain(s: string, timestamps = true): Resolved {
  const h = hint(s)
  if (h === undefined) return { tag: 'str', value: s }
  const mapped = MAP.get(s)
  if (mapped) return mapped
  if (h === 'M') return { tag: 'str', value: s }
  if (h === '.') {
    // strconv.ParseFloat on text starting with '.': only `.digits[e±digits]` is valid syntax.
    const f = /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : NaN
    return Number.isFinite(f) ? { tag: 'float', value: f } : { tag: 'str', value: s }
  }
  const ts = timestamps ? parseTimestamp(s) : undefined
  if (ts !== undefined) return { tag: 'timestamp', value: ts }
  const plain = s.replaceAll('_', '')
  const int = parseIntBase0(plain)
  if (int !== undefined) {
    if (isInt64(int)) return { tag: 'int', value: int }
    // strconv.ParseUint rejects any sign, so only unsigned text can become uint64.
    if (int >= 0n && int <= UINT64_MAX && !/^[+-]/.test(plain)) return { tag: 'uint', value: int }
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = Number(plain)
    // ParseFloat reports ErrRange for overflow, so yaml.v3 falls through to a string.
    if (Number.isFinite(f)) return { tag: 'float', value: f }
  }
  return { tag: 'str', value: s }
}

/** strconv.ParseInt(s, 0, ...) syntax without the range check: sign, 0x/0o/0b, leading-0 octal. */
export function parseIntBase0(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s)
  if (!m) return undefined
  const [, sign, body] = m as unknown as [string, string, string]
  let n: bigint
  if (/^0[oO]/.test(body)) n = BigInt('0o' + body.slice(2))
  else if (/^0[0-7]+$/.test(body)) n = BigInt('0o' + body.slice(1))
  else n = BigInt(body)
  return sign === '-' ? -n : n
}

// The four layouts yaml.v3 tries with time.Parse. Go's getnum reads 1-2 digits for the
// non-zero-padded fields, a layout space matches a run of spaces, and the fraction may use
// `.` or `,` with any number of digits (only the first nine count).
const TS_ZONED = /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})$/
const TS_SPACE = /^(\d{4})-(\d{1,2})-(\d{1,2}) +(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?$/
const TS_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/

/** yaml.v3 parseTimestamp, returning Go's time.MarshalText of the result. */
export function parseTimestamp(s: string): string | undefined {
  if (!/^\d{4}-/.test(s)) return undefined
  const z = TS_ZONED.exec(s)
  // The 't' layout only differs by the separator letter; one regex covers both.
  if (z) return timeText(z.slice(1, 7), z[7] ?? '', z[8]!)
  const sp = TS_SPACE.exec(s)
  if (sp) return timeText(sp.slice(1, 7), sp[7] ?? '', 'Z')
  const d = TS_DATE.exec(s)
  if (d) return timeText([d[1]!, d[2]!, d[3]!, '0', '0', '0'], '', 'Z')
  return undefined
}

function timeText(fields: string[], frac: string, zone: string): string | undefined {
  const [y, mo, d, h, mi, sec] = fields.map(Number) as [number, number, number, number, number, number]
  if (!validDateTime(y, mo, d, h, mi, sec)) return undefined
  const zoneText = goZone(zone)
  if (zoneText === undefined) return undefined
  const f = (v: number): string => String(v)
  return formatGoTime(fields[0]!, f(mo), f(d), f(h), f(mi), f(sec), frac, zoneText)
}

/** Z07:00 as time.Parse accepts it (hours <= 24, minutes <= 60) and MarshalText prints it. */
function goZone(zone: string): string | undefined {
  if (zone === 'Z') return 'Z'
  const hh = Number(zone.slice(1, 3))
  const mm = Number(zone.slice(4, 6))
  if (hh > 24 || mm > 60) return undefined
  const total = hh * 60 + mm
  if (total === 0) return 'Z'
  const pad = (v: number): string => String(v).padStart(2, '0')
  return `${zone[0]}${pad(Math.floor(total / 60))}:${pad(total % 60)}`
}

/** encode.go isBase60Float: YAML 1.1 sexagesimal numbers are quoted on output. */
export function isBase60Float(s: string): boolean {
  if (!/^[-+0-9]/.test(s) || !s.includes(':')) return false
  return /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s)
}

/** encode.go isOldBool: YAML 1.1 booleans are quoted on output. */
export function isOldBool(s: string): boolean {
  return ['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].includes(s)
}

/** encode.go stringv: may this string be written plain without changing its type? */
export function canUsePlain(s: string): boolean {
  return resolvePlain(s).tag === 'str' && !isBase60Float(s) && !isOldBool(s)
}
