/**
 * Google Cloud Storage destination (sops publish/gcs.go): the file's bytes become the object
 * `<gcs_prefix><name>` in `gcs_bucket`, through the JSON API's media upload.
 *
 * STORAGE_EMULATOR_HOST (`host:port` or a URL), as Go's storage client reads it: requests go
 * there, unauthenticated (fake-gcs-server, the tests' emulator). Otherwise to
 * storage.googleapis.com with an access token from Application Default Credentials (the
 * storage client's default, full-control scope), through google-auth-library, which
 * @google-cloud/kms already brings and which is loaded on first use only.
 *
 * Unlike sops, whose writer's Close error is dropped (an upload to a missing bucket exits 0),
 * a failed upload is an error here: a publish that did not happen must not read as done.
 */
import { GenericError } from '../core/errors.js'
import { loadAuth } from '../keys/gcp-kms.js'
import { NETWORK_TIMEOUT_MS, timeoutSignal } from '../keys/timeouts.js'
import type { FileDestination, PublishEnv } from './types.js'

const STORAGE_HOST = 'https://storage.googleapis.com'
const FULL_CONTROL = 'https://www.googleapis.com/auth/devstorage.full_control'

export function gcsDestination(bucket: string, prefix: string): FileDestination {
  return {
    kind: 'file',
    describe: (name) => `gcs://${bucket}/${prefix}${name}`,
    upload: (bytes, name, env) => uploadObject(bucket, prefix + name, bytes, env),
  }
}

/** The emulator's base URL from STORAGE_EMULATOR_HOST (http:// when it names no scheme), or undefined. */
export function emulatorBase(env: PublishEnv): string | undefined {
  const host = env.STORAGE_EMULATOR_HOST
  if (!host) return undefined
  return (/^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `http://${host}`).replace(/\/+$/, '')
}

async function uploadObject(bucket: string, object: string, bytes: Uint8Array, env: PublishEnv): Promise<void> {
  const emulator = emulatorBase(env)
  const base = emulator ?? STORAGE_HOST
  const url = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=media&name=${encodeURIComponent(object)}`
  const headers: Record<string, string> = { 'Content-Type': contentType(bytes) }
  if (emulator === undefined) headers.Authorization = `Bearer ${await accessToken()}`
  const where = `gcs://${bucket}/${object}`
  let res: Response
  let text: string
  try {
    res = await fetch(url, { method: 'POST', headers, body: bytes, signal: timeoutSignal(NETWORK_TIMEOUT_MS) })
    text = await res.text()
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name
    throw new GenericError(`could not upload to ${where}: ${base} did not answer (${cause})`, { code: 'PUBLISH_FAILED' })
  }
  if (!res.ok) throw new GenericError(`could not upload to ${where}: ${googleApiError(res.status, text)}`, { code: 'PUBLISH_FAILED', hint: hintFor(res.status) })
}

/** What Go's storage writer sends for sops's text files (http.DetectContentType of them). */
function contentType(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 512)
  const binary = head.some((b) => b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b)
  return binary || !isUtf8(head) ? 'application/octet-stream' : 'text/plain; charset=utf-8'
}

function isUtf8(head: Uint8Array): boolean {
  try {
    // stream: a character cut at the 512th byte is not an error
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true })
    return true
  } catch {
    return false
  }
}

/** One GoogleAuth for the run: it caches the token between the uploads of a --recursive publish. */
let auth: Promise<{ getAccessToken(): Promise<string | null | undefined> }> | undefined

async function accessToken(): Promise<string> {
  try {
    auth ??= loadAuth().then(({ GoogleAuth }) => new GoogleAuth({ scopes: [FULL_CONTROL] }))
    const token = await (await auth).getAccessToken()
    if (!token) throw new Error('no access token')
    return token
  } catch (e) {
    auth = undefined // a later upload tries again
    throw new GenericError(`could not get Google Cloud credentials for Cloud Storage: ${e instanceof Error ? e.message : String(e)}`, {
      code: 'BAD_CREDENTIALS',
      hint: 'Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file.',
    })
  }
}

/** `googleapi: Error 404: The specified bucket does not exist., notFound`, as Go's API client words it. */
function googleApiError(status: number, text: string): string {
  try {
    const err = (JSON.parse(text) as { error?: { message?: string; errors?: { reason?: string }[] } }).error
    if (err?.message !== undefined) {
      const reason = err.errors?.[0]?.reason
      return `googleapi: Error ${status}: ${err.message}${reason ? `, ${reason}` : ''}`
    }
  } catch {
    // not JSON: the status alone
  }
  return `googleapi: got HTTP response code ${status}`
}

function hintFor(status: number): string | undefined {
  if (status === 401 || status === 403) return 'Check that your Google Cloud credentials may create objects in this bucket (roles/storage.objectCreator).'
  if (status === 404) return 'Check gcs_bucket in the destination rule of .sops.yaml: the bucket does not exist.'
  return undefined
}
