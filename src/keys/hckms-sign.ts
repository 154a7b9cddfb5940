/**
 * HuaweiCloud's SDK-HMAC-SHA256 request signing (huaweicloud-sdk-go-v3 core/auth/signer), the
 * scheme the KMS API gateway checks: an AWS-SigV4-like canonical request, hashed and HMAC'd with
 * the secret key, sent as
 *
 *   X-Sdk-Date: 20060102T150405Z
 *   Authorization: SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b;c>, Signature=<hex>
 *
 * Canonical request, one field per line: method, URI (each path segment escaped, a `/` always
 * at the end), query (keys sorted, escaped), `name:value` per signed header followed by an empty
 * line, the signed header names joined by `;`, and the hex SHA-256 of the body. The signed
 * headers are every header of the request in lower case, sorted, except Content-Type and names
 * with `_` (as the Go SDK does: it never signs Host either).
 *
 * Kept apart from hckms.ts because the loopback test server verifies with the same functions;
 * real sops's requests to that server are what proves them right.
 */
import crypto from 'node:crypto'

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256'
export const DATE_HEADER = 'X-Sdk-Date'

export interface SignableRequest {
  method: string
  /** The path as sent, e.g. `/v1.0/<project>/kms/encrypt-data`. */
  path: string
  /** Query parameters (none for the KMS calls). */
  query?: Readonly<Record<string, string>>
  /** The headers as they will be sent, Date header included. */
  headers: Readonly<Record<string, string>>
  body: string | Uint8Array
}

/** `20060102T150405Z` (Go's BasicDateFormat), UTC. */
export function sdkDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')
}

/** The headers the SDK signs: all but Content-Type and names with `_`, lower case, sorted. */
export function signedHeaderNames(headers: Readonly<Record<string, string>>): string[] {
  return Object.keys(headers)
    .filter((k) => !k.toLowerCase().startsWith('content-type') && !k.includes('_'))
    .map((k) => k.toLowerCase())
    .sort()
}

export function canonicalRequest(req: SignableRequest, signedHeaders: readonly string[]): string {
  const lower = new Map<string, string[]>()
  for (const [k, v] of Object.entries(req.headers)) lower.set(k.toLowerCase(), [...(lower.get(k.toLowerCase()) ?? []), v])
  const headerLines = signedHeaders.flatMap((name) => [...(lower.get(name) ?? [])].sort().map((v) => `${name}:${v.trim()}`))
  return [req.method, canonicalUri(req.path), canonicalQuery(req.query ?? {}), `${headerLines.join('\n')}\n`, signedHeaders.join(';'), sha256Hex(req.body)].join('\n')
}

export function stringToSign(canonical: string, date: string): string {
  return `${SIGNING_ALGORITHM}\n${date}\n${sha256Hex(canonical)}`
}

export function signature(canonical: string, date: string, sk: string): string {
  return crypto.createHmac('sha256', sk).update(stringToSign(canonical, date)).digest('hex')
}

/**
 * The two headers to add to a request whose other headers are final: X-Sdk-Date (from `date`)
 * and Authorization.
 */
export function signRequest(req: Omit<SignableRequest, 'headers'> & { headers: Record<string, string> }, ak: string, sk: string, date: Date): Record<string, string> {
  const xDate = sdkDate(date)
  const headers = { ...req.headers, [DATE_HEADER]: xDate }
  const names = signedHeaderNames(headers)
  const sig = signature(canonicalRequest({ ...req, headers }, names), xDate, sk)
  return { [DATE_HEADER]: xDate, Authorization: `${SIGNING_ALGORITHM} Access=${ak}, SignedHeaders=${names.join(';')}, Signature=${sig}` }
}

export interface ParsedAuthorization {
  access: string
  signedHeaders: string[]
  signature: string
}

/** `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`; undefined when it is not that shape. */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = /^SDK-HMAC-SHA256 Access=([^,\s]+), SignedHeaders=([^,\s]+), Signature=([0-9a-f]+)$/.exec(value.trim())
  if (!m) return undefined
  return { access: m[1]!, signedHeaders: m[2]!.split(';'), signature: m[3]! }
}

function canonicalUri(path: string): string {
  const uri = path
    .split('/')
    .map((segment) => sdkEscape(safeDecode(segment)))
    .join('/')
  return uri.endsWith('/') ? uri : `${uri}/`
}

function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${sdkEscape(k)}=${sdkEscape(query[k]!)}`)
    .join('&')
}

/** The SDK's escape: every byte outside A-Z a-z 0-9 `_-~.` as %XX (upper-case hex). */
function sdkEscape(s: string): string {
  let out = ''
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9_\-~.]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** A path segment as the SDK holds it before escaping (the wire form may be percent-encoded). */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex')
}
