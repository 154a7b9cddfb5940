/**
 * STS AssumeRole without the AWS SDK, for KMS keys with a role (`arn+arn:aws:iam::…:role/r`)
 * whose base credentials are static (aws-kms-route.ts): one signed POST of the query protocol
 * (form body, XML answer) through aws-kms-direct.ts's transport, so the same time limits,
 * retries and error shape as the SDK's STS client.
 *
 * Like the SDK path (which memoizes its credential provider per client), the role is assumed
 * once per role, region, endpoint and base credentials and shared by parallel wraps; it is
 * assumed again when the credentials are within 5 minutes of expiring, and a failure is not kept.
 */
import { createHash } from 'node:crypto'
import type { AwsSigningCredentials } from './aws-sigv4.js'
import { awsServiceError, sendAws, type AwsError, type DirectKmsCall, type RawResponse } from './aws-kms-direct.js'

export interface AssumeRoleCall {
  role: string
  sessionName: string
  /** From stsEndpointUrl. */
  endpoint: URL
  region: string
  /** The base credentials that call STS. */
  credentials: AwsSigningCredentials
  signal: AbortSignal
  transport?: DirectKmsCall['transport']
}

interface Assumed {
  credentials: AwsSigningCredentials
  expiration?: Date
}

/** SDK behaviour: credentials that expire within 5 minutes count as expired. */
const REFRESH_BEFORE_MS = 5 * 60_000
const MAX_CACHED = 16
const cache = new Map<string, Promise<Assumed>>()

/** The role's temporary credentials (from the cache when still fresh). */
export async function assumeRoleDirect(call: AssumeRoleCall): Promise<AwsSigningCredentials> {
  // The base credentials enter the key only as a digest.
  const secret = createHash('sha256').update(JSON.stringify(call.credentials)).digest('hex')
  const key = JSON.stringify([call.role, call.sessionName, call.region, call.endpoint.href, secret])
  let pending = cache.get(key)
  const cached = pending && (await pending.catch(() => undefined))
  if (!cached || (cached.expiration && cached.expiration.getTime() - Date.now() < REFRESH_BEFORE_MS)) {
    pending = assumeRole(call)
    cache.set(key, pending)
    if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string)
    pending.catch(() => cache.get(key) === pending && cache.delete(key))
  }
  return (await pending!).credentials
}

async function assumeRole(call: AssumeRoleCall): Promise<Assumed> {
  const body = new URLSearchParams({ Action: 'AssumeRole', Version: '2011-06-15', RoleArn: call.role, RoleSessionName: call.sessionName }).toString()
  const xml = await sendAws(call, 'sts', { 'content-type': 'application/x-www-form-urlencoded' }, body, (response, clockSkewCorrected) => {
    if (response.status < 300) return response.body.toString('utf8')
    throw queryServiceError(response, clockSkewCorrected)
  })
  const accessKeyId = xmlText(xml, 'AccessKeyId')
  const secretAccessKey = xmlText(xml, 'SecretAccessKey')
  if (!accessKeyId || !secretAccessKey) throw new Error('STS AssumeRole returned no credentials')
  const sessionToken = xmlText(xml, 'SessionToken')
  const expiration = xmlText(xml, 'Expiration')
  return {
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    ...(expiration && !Number.isNaN(Date.parse(expiration)) ? { expiration: new Date(expiration) } : {}),
  }
}

/** As the SDK's query protocol reads an error: Error/Code (NotFound for a bare 404), Error/Message. */
function queryServiceError(response: RawResponse, clockSkewCorrected: boolean): AwsError {
  const xml = response.body.toString('utf8')
  const error = /<Error>([\s\S]*?)<\/Error>/.exec(xml)?.[1] ?? ''
  const code = xmlText(error, 'Code') ?? (response.status === 404 ? 'NotFound' : 'Unknown')
  return awsServiceError(code, xmlText(error, 'Message') ?? 'Unknown', response, clockSkewCorrected)
}

/** The text of the first <tag> element, entities decoded. */
function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)
  return m ? decodeEntities(m[1]!) : undefined
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (whole, e: string) => {
    if (e[0] !== '#') return NAMED_ENTITIES[e] ?? whole
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole
  })
}
