/**
 * Scalar typing as yaml.v3's decoder.scalar does it, for the parser (yaml-parse.ts): tags, plain
 * scalars resolved by yaml-resolve.ts, !!binary, map keys as Go prints them.
 */
import { type Pair, type Scalar as YScalar, isMap, isScalar, isSeq, type Node as YNodeT } from 'yaml'
import { FormatError } from '../core/errors.js'
import { Timestamp as TimestampValue, TreeMap, TreeSeq, type Scalar, type Value } from '../core/tree.js'
import { resolvePlain, type Resolved } from './yaml-resolve.js'
import { decodeYaml11Scalar, needsYaml11Decoding, type ScalarStyle } from './yaml-breaks.js'
import type { Source } from './yaml-source.js'

const LONG_TAG = 'tag:yaml.org,2002:'

function shortTag(tag: string | undefined): string {
  if (!tag || tag === '!') return ''
  return tag.startsWith(LONG_TAG) ? '!!' + tag.slice(LONG_TAG.length) : tag
}

/**
 * The text of a scalar as yaml.v3 reads it: the `yaml` package's value, unless yaml.v3's own
 * line breaks make it differ (yaml-breaks.ts). `parentIndent`: the column of the enclosing
 * block collection, which an explicit block scalar indentation indicator counts from.
 */
export function scalarText(node: YScalar, src: Source | undefined, parentIndent: number): string {
  const value = String(node.value ?? '')
  const [start, end] = node.range ?? [0, 0]
  if (!src || (!src.hasYaml11Breaks && end < src.original.length)) return value
  const style = (node.type ?? 'PLAIN') as ScalarStyle
  if (!needsYaml11Decoding(src.original, style, start, end)) return value
  return decodeYaml11Scalar(src.original, style, start, end, parentIndent)
}

/** The value yaml.v3 decodes a scalar node to (into interface{}). */
export function scalarValue(node: YScalar, src: Source | undefined, parentIndent = -1): Scalar {
  const r = resolveNode(node, src, parentIndent)
  switch (r.tag) {
    case 'null':
    case 'bool':
    case 'float':
    case 'str':
      return r.value
    case 'int':
      return r.value
    case 'timestamp':
      return new TimestampValue(r.value)
    case 'uint': {
      const [line, col] = src ? [src.line(node.range?.[0] ?? 0) + 1, src.col(node.range?.[0] ?? 0) + 1] : [undefined, undefined]
      // sops's own message; the number itself is not repeated (values never appear in messages).
      throw new FormatError('Cannot walk value, unknown type: uint64 (the integer does not fit in int64)', line, col)
    }
  }
}

function resolveNode(node: YScalar, src: Source | undefined, parentIndent: number): Resolved {
  const value = scalarText(node, src, parentIndent)
  const tag = shortTag(node.tag)
  const quoted = node.type !== undefined && node.type !== 'PLAIN'
  if (tag === '!!str' || (tag === '' && quoted)) return { tag: 'str', value }
  if (tag === '') return resolvePlain(value)
  if (tag === '!!binary') return { tag: 'str', value: decodeBinary(value, node, src) }
  const explicit: Record<string, Resolved['tag']> = { '!!null': 'null', '!!bool': 'bool', '!!int': 'int', '!!float': 'float', '!!timestamp': 'timestamp' }
  const want = explicit[tag]
  // Unknown tags (`!foo`, `!!map` on a scalar...) leave the value a string, as in yaml.v3.
  if (want === undefined) return { tag: 'str', value }
  // An explicit tag other than !!timestamp stops yaml.v3 from trying timestamps first.
  const r = resolvePlain(value, want === 'timestamp')
  if (r.tag === want || (want === 'int' && r.tag === 'uint')) return r
  if (want === 'float' && r.tag === 'int') return { tag: 'float', value: Number(r.value) }
  const off = node.range?.[0] ?? 0
  // The value is not quoted (yaml.v3 does): it may be the very secret being encrypted.
  throw new FormatError(`cannot decode ${r.tag === 'uint' ? '!!int' : '!!' + r.tag} value as a ${tag}`, src ? src.line(off) + 1 : undefined, src ? src.col(off) + 1 : undefined)
}

/** Go base64.StdEncoding.DecodeString: strict padding, only CR/LF ignored. */
function decodeBinary(text: string, node: YScalar, src: Source | undefined): string {
  const b64 = text.replace(/[\r\n]/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    const off = node.range?.[0] ?? 0
    throw new FormatError('!!binary value contains invalid base64 data', src ? src.line(off) + 1 : undefined, src ? src.col(off) + 1 : undefined)
  }
  return new TextDecoder().decode(Buffer.from(b64, 'base64'))
}

function goTypeName(r: Scalar | Value): string {
  if (r === null) return '<nil>'
  if (typeof r === 'bigint') return 'int'
  if (typeof r === 'number') return 'float64'
  if (typeof r === 'boolean') return 'bool'
  if (r instanceof TimestampValue) return 'time.Time'
  if (r instanceof TreeMap) return 'map[string]interface {}'
  if (r instanceof TreeSeq) return '[]interface {}'
  return 'string'
}

export function mapKey(pair: Pair<YNodeT | null, YNodeT | null>, src: Source, parentIndent: number): string {
  const key = pair.key
  const at = key?.range?.[0] ?? pair.value?.range?.[0] ?? 0
  let v: Value
  if (key === null) v = null
  else if (isScalar(key)) v = scalarValue(key, src, parentIndent)
  else if (isMap(key)) v = new TreeMap()
  else if (isSeq(key)) v = new TreeSeq()
  else v = null
  if (typeof v === 'string') return v
  const shown = v === null ? '<nil>' : v instanceof TreeMap || v instanceof TreeSeq ? String(key) : String(v)
  throw new FormatError(`Tree contains a non-string key (type ${goTypeName(v)}): ${shown}. Only string keys are supported`, src.line(at) + 1, src.col(at) + 1)
}
