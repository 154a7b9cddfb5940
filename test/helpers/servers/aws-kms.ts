/**
 * Typed entry point to the loopback AWS KMS + STS (the implementation is plain JS in
 * aws-kms-server.mjs so the sops oracle and bench/kms.mjs can import it with plain node).
 */
import type http from 'node:http'
import * as impl from './aws-kms-server.mjs'

export interface KmsRequestLog {
  service: 'kms' | 'sts' | 'unknown'
  operation: string
  status: number
  error?: string
  accessKeyId?: string
  /** The IAM principal whose credentials signed the request (assumed-role ARN after +role). */
  principal?: string
  /** Region of the SigV4 credential scope. */
  region?: string
  signingService?: string
  /** The User-Agent header: `tsops` from the direct client, `aws-sdk-js/…` from the SDK. */
  userAgent?: string
  input?: { KeyId?: string; EncryptionContext?: Record<string, string>; RoleArn?: string; RoleSessionName?: string }
}

export interface KmsServer {
  url: string
  port: number
  log: KmsRequestLog[]
  state: {
    /** The next N KMS requests get ThrottlingException. */
    throttle: number
    delayMs: number
    /** Scripted answers, one per request, before any check (aws-kms-server.mjs). */
    faults: KmsFault[]
    authorize: (principal: string, action: string, keyArn: string) => boolean
    assumable: (roleArn: string, principal: string) => boolean
  }
  addIdentity(accessKeyId: string, secretAccessKey: string, principal?: string, sessionToken?: string): void
  close(): Promise<void>
}

export type KmsFault = { status: number; headers?: Record<string, string>; body?: string } | { destroy: true } | { silent: true }

export interface KmsServerOptions {
  authorize?: KmsServer['state']['authorize']
  assumable?: KmsServer['state']['assumable']
  delayMs?: number
}

export const TEST_ACCOUNT: string = impl.TEST_ACCOUNT
export const TEST_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = impl.TEST_CREDENTIALS
export const testKeyArn: (name?: string, region?: string) => string = impl.testKeyArn
export const startKmsServer: (options?: KmsServerOptions) => Promise<KmsServer> = impl.startKmsServer
export const closedPortUrl: () => Promise<string> = impl.closedPortUrl
export const handle: (target: string, input: unknown) => [number, Record<string, unknown>] = impl.handle
export const verifySigV4: (
  req: http.IncomingMessage,
  body: Buffer,
  identities: Map<string, { secretAccessKey: string; sessionToken?: string; principal: string }>,
  now?: number,
) => { ok: boolean; code?: string } = impl.verifySigV4

/** The environment a user of a loopback KMS sets: test keys + endpoint overrides. */
export function kmsEnv(server: { url: string }, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_KMS: server.url,
    AWS_ENDPOINT_URL_STS: server.url,
    ...extra,
  }
}
