/**
 * Which client talks to AWS KMS for a key: tsops's own (aws-kms-direct.ts) or the AWS SDK.
 *
 * The direct client is used only where it provably does what the SDK would do with the same
 * settings, i.e. when the credentials are static and known without the SDK. The rule
 * (kmsClientRoute), in order:
 *   1. TSOPS_AWS_KMS_CLIENT=sdk → the SDK (the escape hatch);
 *   2. AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT / AWS_RETRY_MODE (and, for a key
 *      with a role, AWS_STS_REGIONAL_ENDPOINTS) set, or those settings in the shared config file
 *      (endpoint_url, use_fips_endpoint, use_dualstack_endpoint, sts_regional_endpoints,
 *      retry_mode, a [services …] section) → the SDK, which implements them;
 *   3. an endpoint override that is not a plain http(s) URL, or a region that is no host name
 *      label (or, with a role, a `*-global` STS region) → the SDK (and its own error);
 *   4. a key with a role (`+arn:aws:iam::…:role/…`) assumes it with STS AssumeRole
 *      (aws-sts-direct.ts), with the base credentials that the next two rules find;
 *   5. static keys in the environment (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, with
 *      AWS_SESSION_TOKEN if set) and no --aws-profile → direct, with those keys;
 *   6. a profile (--aws-profile, AWS_PROFILE, else `default`) whose merged entries in the shared
 *      credentials and config files are static keys and nothing else (aws_access_key_id,
 *      aws_secret_access_key, aws_session_token, aws_account_id, region, output) → direct;
 *      a profile with anything else (role_arn, sso_*, credential_process,
 *      web_identity_token_file, …), or none, → the SDK's provider chain;
 *   7. anything else (container or instance credentials, web identity…) → the SDK.
 * The SDK finds the shared files and AWS_PROFILE through the process environment, so a profile
 * is read here only when the key context's environment agrees with the process's on them.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AwsSigningCredentials } from './aws-sigv4.js'
import { kmsEndpointUrl, stsEndpointUrl } from './aws-kms-direct.js'

type Env = Readonly<Record<string, string | undefined>>

export interface DirectRoute {
  client: 'direct'
  /** The KMS endpoint. */
  endpoint: URL
  /** Static credentials: KMS's, or STS's when the key assumes a role. */
  credentials: AwsSigningCredentials
  /** The key's role, assumed at this STS endpoint with `credentials`. */
  assumeRole?: { role: string; endpoint: URL }
}

export type KmsClientRoute = DirectRoute | { client: 'sdk'; why: string }

/** AWS_ENDPOINT_URL_KMS / _STS / AWS_ENDPOINT_URL as aws-kms.ts reads them (endpointFromEnv). */
export interface EndpointOverrides {
  kms: string | undefined
  sts: string | undefined
}

export interface RouteKey {
  role: string
  awsProfile: string
}

/** The rule above. */
export function kmsClientRoute(key: RouteKey, region: string, overrides: EndpointOverrides, env: Env, processEnv: Env = process.env): KmsClientRoute {
  const sdk = (why: string): KmsClientRoute => ({ client: 'sdk', why })
  if (env.TSOPS_AWS_KMS_CLIENT === 'sdk') return sdk('TSOPS_AWS_KMS_CLIENT=sdk')
  for (const name of ['AWS_USE_FIPS_ENDPOINT', 'AWS_USE_DUALSTACK_ENDPOINT', 'AWS_RETRY_MODE', ...(key.role !== '' ? ['AWS_STS_REGIONAL_ENDPOINTS'] : [])]) {
    if (env[name] || processEnv[name]) return sdk(`${name} is set`)
  }
  const config = readSharedFile(configFilePath(processEnv))
  if (config !== undefined && ENDPOINT_SETTINGS.test(config)) return sdk('the shared config file has endpoint settings')
  const endpoint = kmsEndpointUrl(region, overrides.kms)
  if (endpoint === undefined) return sdk('the SDK resolves this endpoint')
  let assumeRole: DirectRoute['assumeRole']
  if (key.role !== '') {
    const stsEndpoint = stsEndpointUrl(region, overrides.sts)
    if (stsEndpoint === undefined) return sdk('the SDK resolves this STS endpoint')
    assumeRole = { role: key.role, endpoint: stsEndpoint }
  }
  const found = staticCredentials(key, env, processEnv, config)
  if ('why' in found) return sdk(found.why)
  return { client: 'direct', endpoint, credentials: found.credentials, ...(assumeRole ? { assumeRole } : {}) }
}

/** Rules 5 and 6: static keys from the environment, or a profile of static keys alone. */
function staticCredentials(key: RouteKey, env: Env, processEnv: Env, config: string | undefined): { credentials: AwsSigningCredentials } | { why: string } {
  if (key.awsProfile === '' && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const sessionToken = env.AWS_SESSION_TOKEN
    return { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(sessionToken ? { sessionToken } : {}) } }
  }
  // From here the SDK would read the process's environment and files itself.
  const differs = SDK_READS.find((name) => (env[name] ?? '') !== (processEnv[name] ?? ''))
  if (differs !== undefined) return { why: `the SDK would read ${differs} from the process environment` }
  if (processEnv.AWS_ACCESS_KEY_ID && processEnv.AWS_SECRET_ACCESS_KEY) return { why: 'a profile and static keys are both set' }
  const profileName = key.awsProfile || processEnv.AWS_PROFILE || 'default'
  const credentials = staticProfile(profileName, readSharedFile(credentialsFilePath(processEnv)), config)
  return credentials ? { credentials } : { why: `profile ${profileName} is not static keys alone` }
}

/** Variables the SDK's provider chain reads from process.env that decide which credentials it finds. */
const SDK_READS = ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'HOME']

/** Settings in the shared config file that change which KMS endpoint the SDK calls (any profile, to be safe). */
const ENDPOINT_SETTINGS = /^\s*(endpoint_url|use_fips_endpoint|use_dualstack_endpoint|sts_regional_endpoints|retry_mode)\s*=|^\s*\[\s*services[\s\]]/m

const STATIC_PROFILE_KEYS = new Set(['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'aws_account_id', 'region', 'output'])

/**
 * The profile's keys if its entries in both files, merged as the SDK merges them (the
 * credentials file wins), are static keys and nothing else; undefined otherwise.
 */
export function staticProfile(name: string, credentialsFile: string | undefined, configFile: string | undefined): AwsSigningCredentials | undefined {
  const config = configFile === undefined ? {} : parseSharedIni(configFile)
  // The config file names a profile `[profile x]`, the default one `[default]` or `[profile default]`.
  const configSections = (name === 'default' ? ['default', 'profile default'] : [`profile ${name}`]).filter((s) => s in config)
  if (configSections.length > 1) return undefined
  const fromConfig = configSections.length === 1 ? config[configSections[0]!] : {}
  const fromCredentials = credentialsFile === undefined ? {} : (parseSharedIni(credentialsFile)[name] ?? {})
  if (fromConfig === null || fromCredentials === null || fromConfig === undefined) return undefined
  const profile: Record<string, string> = { ...fromConfig, ...fromCredentials }
  if (!Object.keys(profile).every((k) => STATIC_PROFILE_KEYS.has(k))) return undefined
  const { aws_access_key_id: accessKeyId, aws_secret_access_key: secretAccessKey, aws_session_token: sessionToken } = profile
  if (!accessKeyId || !secretAccessKey) return undefined
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
}

/**
 * Sections → their `key = value` lines, the way the SDK's parseIni reads the shared files:
 * comments start with # or ; at the start or after a space; an indented block under `key =`
 * becomes `key.sub` entries. A section that appears twice, or lines this reader is unsure of,
 * make the section null (the SDK decides then).
 */
export function parseSharedIni(text: string): Record<string, Record<string, string> | null> {
  const sections: Record<string, Record<string, string> | null> = Object.create(null) as Record<string, Record<string, string> | null>
  let current: string | undefined
  let sub: string | undefined
  const taint = () => {
    if (current !== undefined) sections[current] = null
  }
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.split(/(^|\s)[;#]/)[0]!.trim()
    if (line === '') continue
    if (line.startsWith('[') && line.endsWith(']')) {
      // `[profile "x"]` and `[profile x]` are the same section to the SDK.
      current = line.slice(1, -1).trim().replace(/^(\S+)\s+(["']?)(.*)\2$/, '$1 $3')
      sub = undefined
      sections[current] = current in sections ? null : {}
      continue
    }
    const eq = line.indexOf('=')
    if (current === undefined) continue
    if (eq <= 0) {
      taint()
      continue
    }
    const name = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (value === '') {
      sub = name
      continue
    }
    if (sub !== undefined && raw.trimStart() === raw) sub = undefined
    const section = sections[current]
    if (section) section[sub !== undefined ? `${sub}.${name}` : name] = value
  }
  return sections
}

function homeDir(env: Env): string {
  return env.HOME || env.USERPROFILE || (env.HOMEPATH ? `${env.HOMEDRIVE ?? `C:${path.sep}`}${env.HOMEPATH}` : os.homedir())
}

function configFilePath(env: Env): string {
  return env.AWS_CONFIG_FILE || path.join(homeDir(env), '.aws', 'config')
}

function credentialsFilePath(env: Env): string {
  return env.AWS_SHARED_CREDENTIALS_FILE || path.join(homeDir(env), '.aws', 'credentials')
}

/** The file's text, or undefined when it cannot be read (the SDK treats a missing file as empty). */
function readSharedFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}
