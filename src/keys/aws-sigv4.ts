/**
 * AWS Signature Version 4 (header-signed requests), as the AWS services other than S3 verify it:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *
 * Only what tsops's direct KMS client needs, with node:crypto alone: no path normalisation (the
 * path is signed as given), no presigned URLs, no chunked payloads. Checked against AWS's
 * published test suite (test/keys/aws-sigv4.test.ts).
 */
import { createHash, createHmac } from 'node:crypto'

export interface AwsSigningCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** The credential scope's region and service (`kms`, `sts`). */
export interface SigningScope {
  region: string
  service: string
}

export interface RequestToSign {
  method: string
  /**
   * Each segment is URI-encoded here. The test suite passes raw paths; AWS services other than S3
   * sign the path as sent (already percent-encoded) encoded once more, so pass that one for them.
   */
  path: string
  query?: ReadonlyArray<readonly [string, string]>
  /** Every header here is signed; `host` is required. Add unsigned ones (user-agent) afterwards. */
  headers: Readonly<Record<string, string>>
  body: string | Uint8Array
}

export interface SignedRequest {
  /** The request's headers plus x-amz-date, x-amz-security-token (with a session token) and authorization. */
  headers: Record<string, string>
  signature: string
  signedHeaders: string
  canonicalRequest: string
  stringToSign: string
}

const ALGORITHM = 'AWS4-HMAC-SHA256'

export function signRequest(request: RequestToSign, credentials: AwsSigningCredentials, scope: SigningScope, now: Date = new Date()): SignedRequest {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '') // 20150830T123600Z
  const day = amzDate.slice(0, 8)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value
  if (headers.host === undefined) throw new Error('SigV4: the host header must be signed')
  headers['x-amz-date'] = amzDate
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken

  const names = Object.keys(headers).sort()
  const signedHeaders = names.join(';')
  const canonicalHeaders = names.map((n) => `${n}:${canonicalHeaderValue(headers[n]!)}\n`).join('')
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.path),
    canonicalQuery(request.query ?? []),
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n')
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`
  const stringToSign = [ALGORITHM, amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n')
  const signature = hmac(signingKey(credentials.secretAccessKey, day, scope), stringToSign).toString('hex')
  headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return { headers, signature, signedHeaders, canonicalRequest, stringToSign }
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secretAccessKey: string, day: string, scope: SigningScope): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), scope.region), scope.service), 'aws4_request')
}

/** RFC 3986 encoding: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded (UTF-8). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function canonicalPath(path: string): string {
  return path.split('/').map(uriEncode).join('/') || '/'
}

/** Encoded names and values, sorted by name then value. */
function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

/** Trimmed, with runs of spaces inside the value collapsed to one. */
function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ')
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}
