/**
 * AWS SDK failures in the Go SDK's words, as sops prints them, for every AWS call tsops makes
 * (KMS, STS, S3): one short, clear reason per failure kind (never a secret: AWS messages name
 * keys and principals, not credentials).
 */
import { goQuote } from './go-text.js'
import { DEFAULT_NETWORK_TIMEOUTS, formatSeconds, NetworkTimeoutError, type NetworkTimeouts } from './timeouts.js'

interface AwsErrorLike {
  name?: string
  message?: string
  code?: string
  $metadata?: { attempts?: number; httpStatusCode?: number; requestId?: string; extendedRequestId?: string }
  /** S3's error body's HostId (the x-amz-id-2 header's value when there is one). */
  HostId?: string
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED'])
const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
])

export interface AwsCall {
  service: 'KMS' | 'STS' | 'S3'
  operation: string
  /** The URL the request went to. */
  url: string
  /** The request's HTTP method as Go's url.Error names it (default Post). */
  method?: 'Post' | 'Put'
  /** For tsops's own texts: "AWS KMS at <endpoint>". */
  where: string
}

/**
 * An SDK failure in the Go SDK's words, as sops prints it (`operation error KMS: Decrypt, https
 * response error StatusCode: 400, RequestID: …, api error AccessDeniedException: …`). Failures
 * the Go SDK cannot have — tsops's own time limits, a missing credential chain — keep tsops's
 * texts.
 */
export function describeAwsError(e: unknown, call: AwsCall, timeouts: NetworkTimeouts = DEFAULT_NETWORK_TIMEOUTS): string {
  const within = (ms: number) => `within ${formatSeconds(ms)}`
  if (e instanceof NetworkTimeoutError) return `${call.where} did not answer ${within(timeouts.overallMs)}`
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as AwsErrorLike
  const name = err.name ?? 'Error'
  const attempts = err.$metadata?.attempts ?? 1
  const tries = attempts > 1 ? ` after ${attempts} attempts` : ''
  const operation = `operation error ${call.service}: ${call.operation}, ${attempts >= timeouts.attempts ? `exceeded maximum number of attempts, ${attempts}, ` : ''}`
  switch (name) {
    case 'CredentialsProviderError':
      return `no AWS credentials found (${name}: ${err.message ?? ''})`
    case 'TimeoutError':
      // The second text is today's @smithy/node-http-handler's (the direct client uses it too).
      return /^Socket timed out without establishing a connection|did not establish a connection with the server/.test(err.message ?? '')
        ? `could not connect to ${call.where} ${within(timeouts.connectMs)}${tries}`
        : `${call.where} did not answer ${within(timeouts.requestMs)}${tries}`
    case 'AbortError':
      return `${call.where} did not answer ${within(timeouts.overallMs)}`
  }
  if (err.code !== undefined && NETWORK_CODES.has(err.code)) {
    const hostId = call.service === 'S3' ? 'HostID: , ' : ''
    return `${operation}https response error StatusCode: 0, RequestID: , ${hostId}request send failed, ${call.method ?? 'Post'} ${goQuote(call.url)}: ${goDialError(err.code, call.url)}`
  }
  const status = err.$metadata?.httpStatusCode
  if (status === undefined) return err.message ?? name
  // The SDK reports an error without a message (AWS sends none for InvalidCiphertextException) as "UnknownError".
  const message = err.message && err.message !== 'UnknownError' ? err.message : ''
  // Errors the service models print as `Code: message`; the others as smithy's `api error Code: message`.
  const modeled = call.service === 'KMS' ? KMS_MODELED_ERRORS : call.service === 'STS' ? STS_MODELED_ERRORS : NO_MODELED_ERRORS
  const api = modeled.has(name) ? `${name}: ${message}` : `api error ${name}: ${message}`
  // S3 answers carry a second id, which the Go SDK prints as HostID.
  const hostId = call.service === 'S3' ? `HostID: ${err.$metadata?.extendedRequestId ?? err.HostId ?? ''}, ` : ''
  return `${operation}https response error StatusCode: ${status}, RequestID: ${err.$metadata?.requestId ?? ''}, ${hostId}${api}`
}

/** Go's net error for a failed connection to the URL's host (`dial tcp 127.0.0.1:1: connect: connection refused`). */
function goDialError(code: string, url: string): string {
  let hostPort = url
  try {
    const u = new URL(url)
    hostPort = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`
  } catch {
    // keep the text as given
  }
  const why: Record<string, string> = { ECONNREFUSED: 'connect: connection refused', EHOSTUNREACH: 'connect: no route to host', ENETUNREACH: 'connect: network is unreachable', ETIMEDOUT: 'i/o timeout' }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${hostPort.replace(/:\d+$/, '')}: no such host`
  return `dial tcp ${hostPort}: ${why[code] ?? code}`
}

/** Exceptions the Go SDK's KMS and STS clients model (types.XxxException): no "api error" prefix. */
const KMS_MODELED_ERRORS = new Set([
  'AlreadyExistsException', 'CloudHsmClusterInUseException', 'CloudHsmClusterInvalidConfigurationException', 'CloudHsmClusterNotActiveException',
  'CloudHsmClusterNotFoundException', 'CloudHsmClusterNotRelatedException', 'ConflictException', 'CustomKeyStoreHasCMKsException',
  'CustomKeyStoreInvalidStateException', 'CustomKeyStoreNameInUseException', 'CustomKeyStoreNotFoundException', 'DependencyTimeoutException',
  'DisabledException', 'DryRunOperationException', 'ExpiredImportTokenException', 'IncorrectKeyException', 'IncorrectKeyMaterialException',
  'IncorrectTrustAnchorException', 'InvalidAliasNameException', 'InvalidArnException', 'InvalidCiphertextException', 'InvalidGrantIdException',
  'InvalidGrantTokenException', 'InvalidImportTokenException', 'InvalidKeyUsageException', 'InvalidMarkerException', 'KeyUnavailableException',
  'KMSInternalException', 'KMSInvalidMacException', 'KMSInvalidSignatureException', 'KMSInvalidStateException', 'LimitExceededException',
  'MalformedPolicyDocumentException', 'NotFoundException', 'TagException', 'UnsupportedOperationException', 'XksKeyAlreadyInUseException',
  'XksKeyInvalidConfigurationException', 'XksKeyNotFoundException', 'XksProxyIncorrectAuthenticationCredentialException',
  'XksProxyInvalidConfigurationException', 'XksProxyInvalidResponseException', 'XksProxyUriEndpointInUseException', 'XksProxyUriInUseException',
  'XksProxyUriUnreachableException', 'XksProxyVpcEndpointServiceInUseException', 'XksProxyVpcEndpointServiceInvalidConfigurationException',
  'XksProxyVpcEndpointServiceNotFoundException',
])
/** S3's PutObject models none of the errors an upload meets (NoSuchBucket, AccessDenied…). */
const NO_MODELED_ERRORS: ReadonlySet<string> = new Set()
const STS_MODELED_ERRORS = new Set([
  'ExpiredTokenException', 'ExpiredTradeInTokenException', 'IDPCommunicationErrorException', 'IDPRejectedClaimException',
  'InvalidAuthorizationMessageException', 'InvalidIdentityTokenException', 'JWTPayloadSizeExceededException', 'MalformedPolicyDocumentException',
  'OutboundWebIdentityFederationDisabledException', 'PackedPolicyTooLargeException', 'RegionDisabledException', 'SessionDurationEscalationException',
])

export function hintFor(e: unknown): string | undefined {
  const name = (e as AwsErrorLike | undefined)?.name
  if (name === 'CredentialsProviderError' || (name !== undefined && CREDENTIAL_ERRORS.has(name))) {
    return 'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile, or log in with `aws sso login`.'
  }
  return undefined
}

