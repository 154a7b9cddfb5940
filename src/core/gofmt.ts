/**
 * Go's number and time text, reproduced exactly: sops hashes and encrypts values in these
 * forms, so a different digit or exponent breaks the MAC (spec §1.4, §4.1, §5.8).
 */

interface Digits {
  neg: boolean
  digits: string // shortest round-trip significant digits, no leading zeros
  /** decimal point position: value = 0.digits × 10^dp */
  dp: number
}

function shortestDigits(x: number): Digits {
  const neg = x < 0 || Object.is(x, -0)
  const abs = Math.abs(x)
  if (abs === 0) return { neg, digits: '0', dp: 1 }
  // toExponential() without an argument gives the shortest round-trip digits, like Go's -1 precision.
  const [mant, exp] = abs.toExponential().split('e') as [string, string]
  const digits = mant.replace('.', '')
  return { neg, digits, dp: Number(exp) + 1 }
}

function special(x: number): string | undefined {
  if (Number.isNaN(x)) return 'NaN'
  if (x === Infinity) return '+Inf'
  if (x === -Infinity) return '-Inf'
  return undefined
}

function fmtF({ neg, digits, dp }: Digits): string {
  let s: string
  if (dp <= 0) s = '0.' + '0'.repeat(-dp) + digits
  else if (dp >= digits.length) s = digits + '0'.repeat(dp - digits.length)
  else s = digits.slice(0, dp) + '.' + digits.slice(dp)
  return (neg ? '-' : '') + s
}

function fmtE({ neg, digits, dp }: Digits, e = 'e'): string {
  const exp = digits === '0' ? 0 : dp - 1
  const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits
  const sign = exp < 0 ? '-' : '+'
  const absExp = Math.abs(exp)
  return (neg ? '-' : '') + mant + e + sign + (absExp < 10 ? '0' : '') + absExp
}

/** strconv.FormatFloat(x, 'f', -1, 64): the `type:float` plaintext and MAC bytes. */
export function formatFloatF(x: number): string {
  return special(x) ?? fmtF(shortestDigits(x))
}

/** strconv.FormatFloat(x, 'g' | 'G', -1, 64). */
export function formatFloatG(x: number, upper = false): string {
  const sp = special(x)
  if (sp) return sp
  const d = shortestDigits(x)
  const exp = d.digits === '0' ? 0 : d.dp - 1
  // Go: with the shortest precision, %e is used when exp < -4 || exp >= 6
  if (exp < -4 || exp >= 6) return fmtE(d, upper ? 'E' : 'e')
  return fmtF(d)
}

/** Go encoding/json float64 text (1e-7, 1e+21, 25.4). */
export function formatFloatJSON(x: number): string {
  const abs = Math.abs(x)
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    const s = fmtE(shortestDigits(x))
    return s.replace(/e-0(\d)$/, 'e-$1')
  }
  return fmtF(shortestDigits(x))
}

/** yaml.v3's float text: 'g' formatting, with .inf/.nan spellings. */
export function formatFloatYAML(x: number): string {
  if (Number.isNaN(x)) return '.nan'
  if (x === Infinity) return '.inf'
  if (x === -Infinity) return '-.inf'
  return formatFloatG(x)
}

/** sops stores.ValToString for floats: 'G', or one decimal when that would look like an int. */
export function valToStringFloat(x: number): string {
  const s = formatFloatG(x, true)
  if (!s.includes('.') && !s.includes('E') && special(x) === undefined) return fmtFixed1(x)
  return s
}

function fmtFixed1(x: number): string {
  // strconv.FormatFloat(v, 'f', 1, 64) for an integral value below 1e21
  return (Object.is(x, -0) ? '-' : '') + BigInt(Math.trunc(x)).toString() + '.0'
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

export function isInt64(n: bigint): boolean {
  return n >= INT64_MIN && n <= INT64_MAX
}

/** strconv.Atoi on 64-bit: optional sign, decimal digits, int64 range. */
export function parseGoInt(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined
  const n = BigInt(s)
  return isInt64(n) ? n : undefined
}

/** strconv.ParseFloat(s, 64) for the forms sops writes and reads back. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.replace(/^\+/, '')
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity
  if (/^nan$/i.test(s)) return NaN
  if (!/^-?(\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)([eE][+-]?\d+)?$/.test(t) && !/^-?0[xX][0-9a-fA-F_.]+([pP][+-]?\d+)?$/.test(t)) return undefined
  const n = Number(t.replaceAll('_', ''))
  if (Number.isNaN(n) || !Number.isFinite(n)) return undefined
  return n
}

/** strconv.ParseBool */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return undefined
}

// ---- time ----------------------------------------------------------------------------------

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** time.Time.MarshalText of time.Parse(RFC3339Nano, s); undefined if s is not RFC 3339. */
export function canonicalTimeText(s: string): string | undefined {
  const m = RFC3339.exec(s)
  if (!m) return undefined
  const [, y, mo, d, h, mi, sec, frac, zone] = m as unknown as string[]
  if (!validDateTime(+y!, +mo!, +d!, +h!, +mi!, +sec!)) return undefined
  return formatGoTime(y!, mo!, d!, h!, mi!, sec!, frac ?? '', zoneText(zone!))
}

/** time.Parse(RFC3339, s).Format(RFC3339): the MAC's AAD from `lastmodified` (spec §4.2). */
export function canonicalSecondsTime(s: string): string | undefined {
  const m = RFC3339.exec(s)
  if (!m) return undefined
  const [, y, mo, d, h, mi, sec, , zone] = m as unknown as string[]
  if (!validDateTime(+y!, +mo!, +d!, +h!, +mi!, +sec!)) return undefined
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}${zoneText(zone!)}`
}

function zoneText(zone: string): string {
  if (zone === 'Z' || zone === 'z' || zone === '+00:00' || zone === '-00:00') return 'Z'
  return zone
}

export function formatGoTime(y: string, mo: string, d: string, h: string, mi: string, s: string, frac: string, zone: string): string {
  const trimmed = frac.replace(/^\./, '').slice(0, 9).replace(/0+$/, '')
  return `${y.padStart(4, '0')}-${mo.padStart(2, '0')}-${d.padStart(2, '0')}T${h.padStart(2, '0')}:${mi.padStart(2, '0')}:${s.padStart(2, '0')}${trimmed ? '.' + trimmed : ''}${zone}`
}

export function validDateTime(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!
  return d <= days
}

/** time.Now().UTC().Format(RFC3339): what sops writes as `lastmodified`. */
export function nowRFC3339(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
