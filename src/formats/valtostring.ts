/**
 * sops `stores.ValToString` (spec §5.8): how the flat stores (dotenv, INI) and exec-env spell a
 * non-string leaf. The output is what ends up in the file, so it follows Go's formatting, not JS's.
 */
import { Literal, Timestamp, type Scalar } from '../core/tree.js'
import { valToStringFloat } from '../core/gofmt.js'

/** `time.Time.Format(time.RFC3339)`: MarshalText's form with the fraction of a second dropped. */
function timeRFC3339(t: Timestamp): string {
  return t.text.replace(/\.\d+(?=(Z|[+-]\d{2}:\d{2})$)/, '')
}

/**
 * The text of a scalar: floats in `'G'` form with at least one decimal (`2` -> `2.0`, `1e21` ->
 * `1E+21`), bools `true`/`false`, times RFC 3339 at second precision, ints decimal, strings as is.
 * `null` gives Go's `%v` of nil, `<nil>`, which is what sops writes for it.
 */
export function valToString(v: Scalar): string {
  if (v === null) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') return valToStringFloat(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (v instanceof Timestamp) return timeRFC3339(v)
  if (v instanceof Literal) return valToString(v.value)
  // Raw bytes (binary files): sops's walk turns []byte into a Go string, i.e. the bytes as text.
  return Buffer.from(v).toString('utf8')
}
