/**
 * S3 destination (sops publish/s3.go): one PutObject of the file's bytes to
 * `<s3_prefix><name>` in `s3_bucket`, with the default AWS settings: credentials from
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the SDK's provider chain, the region
 * from AWS_REGION (or AWS_DEFAULT_REGION, which sops's Go SDK also reads) or the profile, and
 * the endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (an IP endpoint gets path-style
 * addressing, as in the Go SDK: both follow S3's endpoint rules).
 *
 * @aws-sdk/client-s3 (same release as client-kms, so it shares its whole dependency tree) is
 * imported on first upload; nothing else loads it. Hand-signing a PutObject would need the
 * credential and region chains re-implemented; the SDK already has both.
 */
import { createHash } from 'node:crypto'
import type { PutObjectCommandInput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import { GenericError } from '../core/errors.js'
import { baseCredentials, commonConfig, describeAwsError, endpointFromEnv, hintFor, quietly } from '../keys/aws-kms.js'
import type { FileDestination, PublishEnv } from './types.js'

export function s3Destination(bucket: string, prefix: string): FileDestination {
  return {
    kind: 'file',
    describe: (name) => `s3://${bucket}/${prefix}${name}`,
    upload: (bytes, name, env) => putObject({ Bucket: bucket, Key: prefix + name, Body: bytes }, env),
  }
}

async function putObject(input: PutObjectCommandInput, env: PublishEnv): Promise<void> {
  const s3 = await import('@aws-sdk/client-s3')
  const { client, region, endpoint } = await clientFor(env)
  try {
    await client.send(new s3.PutObjectCommand(input))
  } catch (e) {
    const url = objectUrl(endpoint, region ?? '', input)
    throw new GenericError(describeAwsError(e, { service: 'S3', operation: 'PutObject', method: 'Put', url, where: endpoint ? `S3 at ${endpoint}` : 'S3' }), {
      code: 'PUBLISH_FAILED',
      hint: hintFor(e) ?? (region ? undefined : 'No AWS region is set: set AWS_REGION (or a region in your AWS profile).'),
    })
  }
}

interface CachedClient {
  key: string
  client: S3Client
  region: string | undefined
  endpoint: string | undefined
}

/** One client for the run (a --recursive publish reuses its credentials and connections); a new one if the settings change. */
let cached: CachedClient | undefined

async function clientFor(env: PublishEnv): Promise<CachedClient> {
  const s3 = await import('@aws-sdk/client-s3')
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined
  const base = baseCredentials(env, '')
  const endpoint = endpointFromEnv(env, 'S3')
  // The credentials enter the key only as a digest.
  const secret = base.credentials ? createHash('sha256').update(JSON.stringify(base.credentials)).digest('hex') : ''
  const key = JSON.stringify([region ?? '', endpoint ?? '', base.profile ?? '', secret])
  if (cached?.key === key) return cached
  const config: S3ClientConfig = { ...commonConfig() }
  if (region) config.region = region
  if (base.credentials) config.credentials = base.credentials
  else if (base.profile) config.profile = base.profile
  if (endpoint !== undefined) config.endpoint = endpoint
  cached?.client.destroy()
  cached = { key, client: quietly(() => new s3.S3Client(config)), region, endpoint }
  return cached
}

/** The URL the Go SDK names in a connection failure (path-style for an endpoint override). */
function objectUrl(endpoint: string | undefined, region: string, input: PutObjectCommandInput): string {
  const key = encodeURIComponent(input.Key ?? '').replace(/%2F/g, '/')
  if (endpoint !== undefined) return `${endpoint.replace(/\/+$/, '')}/${input.Bucket}/${key}?x-id=PutObject`
  return `https://${input.Bucket}.s3.${region}.amazonaws.com/${key}?x-id=PutObject`
}
