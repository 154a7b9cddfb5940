// A loopback AWS KMS (+ STS AssumeRole) for tests and benchmarks. Plain JS on purpose:
// bench/kms.mjs imports it with plain node, and the
// TS tests import it through ./aws-kms.ts.
//
// It speaks the real wire protocols, so the real @aws-sdk clients run their whole code path:
//   - KMS: AWS JSON 1.1 (`X-Amz-Target: TrentService.<Op>`), errors as `{"__type", "message"}`;
//   - STS: the query protocol (form body `Action=AssumeRole&…`), XML answers;
//   - every request's SigV4 signature is recomputed from the known secret and compared, so a
//     wrong secret key, a tampered body or a wrong session token is rejected as AWS would.
//
// Ciphertext blobs are AES-256-GCM under a key derived from a fixed test secret and the key
// ARN, with the key ARN and the encryption context as AAD. Deterministic key material means
// another process (the oracle) can decrypt what this server encrypted.
import crypto from 'node:crypto'
import http from 'node:http'

export const TEST_ACCOUNT = '111122223333'
/** The access key the tests sign with; the server knows its secret. */
export const TEST_CREDENTIALS = Object.freeze({
  accessKeyId: 'AKIATSOPSTEST0000001',
  secretAccessKey: 'tsopsTestSecretKey/0123456789+abcdefghijk',
})

const MASTER_SECRET = 'tsops loopback KMS master secret (test only)'
const BLOB_MAGIC = Buffer.from('TSK1')
const KEY_ARN = /^arn:(aws[\w-]*):kms:([^:]+):(\d+):key\/(.+)$/
const ALIAS_ARN = /^arn:(aws[\w-]*):kms:([^:]+):(\d+):(alias\/.+)$/

/** A key ARN in this account. */
export function testKeyArn(name = 'tsops-test', region = 'eu-central-1') {
  return `arn:aws:kms:${region}:${TEST_ACCOUNT}:key/${name}`
}

// ---------------------------------------------------------------------------------------------
// KMS logic (synchronous: the oracle calls handle() without awaiting)

/** A KMS error answer as AWS JSON 1.1 sends it. */
function kmsError(type, message) {
  return message === undefined ? [400, { __type: type }] : [400, { __type: type, message }]
}

/**
 * KeyId as KMS accepts it (key ARN, alias ARN, key id, alias name) → the key ARN. Aliases
 * resolve to `key/alias-<name>`; key ids starting with `missing` do not exist.
 */
function resolveKey(keyId, defaultRegion) {
  if (typeof keyId !== 'string' || keyId === '') return undefined
  let m = KEY_ARN.exec(keyId)
  if (m) return keyId
  m = ALIAS_ARN.exec(keyId)
  if (m) return `arn:${m[1]}:kms:${m[2]}:${m[3]}:key/alias-${m[4].slice('alias/'.length)}`
  if (keyId.startsWith('alias/')) return `arn:aws:kms:${defaultRegion}:${TEST_ACCOUNT}:key/alias-${keyId.slice(6)}`
  if (!keyId.includes(':')) return `arn:aws:kms:${defaultRegion}:${TEST_ACCOUNT}:key/${keyId}`
  return undefined
}

function keyExists(keyArn) {
  return !KEY_ARN.exec(keyArn)[4].startsWith('missing')
}

function keyMaterial(keyArn) {
  return crypto.createHmac('sha256', MASTER_SECRET).update(keyArn).digest()
}

/** AAD binding the key and the (order-independent) encryption context. */
function aad(keyArn, context) {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Buffer.from(`${keyArn}\n${JSON.stringify(entries)}`)
}

function seal(keyArn, plaintext, context) {
  const iv = crypto.randomBytes(12)
  const cipher = crypto.createCipheriv('aes-256-gcm', keyMaterial(keyArn), iv)
  cipher.setAAD(aad(keyArn, context))
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
  const arn = Buffer.from(keyArn)
  const len = Buffer.alloc(2)
  len.writeUInt16BE(arn.length)
  return Buffer.concat([BLOB_MAGIC, len, arn, iv, cipher.getAuthTag(), ct])
}

/** → { keyArn, plaintext } or { keyArn } when authentication fails, or undefined if malformed. */
function open(blob, context) {
  if (blob.length < 6 || !blob.subarray(0, 4).equals(BLOB_MAGIC)) return undefined
  const len = blob.readUInt16BE(4)
  if (blob.length < 6 + len + 28) return undefined
  const keyArn = blob.subarray(6, 6 + len).toString()
  if (!KEY_ARN.test(keyArn)) return undefined
  const iv = blob.subarray(6 + len, 18 + len)
  const tag = blob.subarray(18 + len, 34 + len)
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', keyMaterial(keyArn), iv)
    decipher.setAAD(aad(keyArn, context))
    decipher.setAuthTag(tag)
    return { keyArn, plaintext: Buffer.concat([decipher.update(blob.subarray(34 + len)), decipher.final()]) }
  } catch {
    return { keyArn }
  }
}

function b64(input, field) {
  if (typeof input[field] !== 'string' || input[field] === '') return undefined
  return Buffer.from(input[field], 'base64')
}

function contextOf(input) {
  const c = input.EncryptionContext
  if (c === undefined || c === null) return {}
  if (typeof c !== 'object' || Object.values(c).some((v) => typeof v !== 'string')) return undefined
  return c
}

/**
 * A KMS whose behaviour tests can change:
 *   authorize(principal, action, keyArn) → false to answer AccessDeniedException;
 *   throttle: the next N requests get ThrottlingException.
 */
export function createKms(options = {}) {
  const state = {
    region: options.region ?? 'us-east-1',
    authorize: options.authorize ?? (() => true),
    throttle: 0,
  }

  function denied(principal, action, keyArn) {
    return kmsError(
      'AccessDeniedException',
      `User: ${principal} is not authorized to perform: kms:${action} on resource: ${keyArn} because no identity-based policy allows the kms:${action} action`,
    )
  }

  function usableKey(input, principal, action) {
    const keyArn = resolveKey(input.KeyId, state.region)
    if (!keyArn) return { error: kmsError('NotFoundException', `Invalid keyId '${String(input.KeyId ?? '')}'`) }
    if (!keyExists(keyArn)) return { error: kmsError('NotFoundException', `Key '${keyArn}' does not exist`) }
    if (!state.authorize(principal, action, keyArn)) return { error: denied(principal, action, keyArn) }
    return { keyArn }
  }

  const ops = {
    Encrypt(input, principal) {
      const k = usableKey(input, principal, 'Encrypt')
      if (k.error) return k.error
      const plaintext = b64(input, 'Plaintext')
      const context = contextOf(input)
      if (!plaintext || plaintext.length > 4096 || !context) return kmsError('ValidationException', '1 validation error detected: invalid Plaintext or EncryptionContext')
      const blob = seal(k.keyArn, plaintext, context)
      return [200, { CiphertextBlob: blob.toString('base64'), KeyId: k.keyArn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }]
    },
    GenerateDataKey(input, principal) {
      const k = usableKey(input, principal, 'GenerateDataKey')
      if (k.error) return k.error
      const size = input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : input.KeySpec === 'AES_256' ? 32 : undefined)
      const context = contextOf(input)
      if (!Number.isInteger(size) || size < 1 || size > 1024 || !context) return kmsError('ValidationException', 'KeySpec or NumberOfBytes is required')
      const plaintext = crypto.randomBytes(size)
      const blob = seal(k.keyArn, plaintext, context)
      return [200, { CiphertextBlob: blob.toString('base64'), Plaintext: plaintext.toString('base64'), KeyId: k.keyArn }]
    },
    Decrypt(input, principal) {
      const blob = b64(input, 'CiphertextBlob')
      const context = contextOf(input)
      if (!blob || !context) return kmsError('ValidationException', 'CiphertextBlob is required')
      const opened = open(blob, context)
      // AWS answers a malformed blob and a context mismatch alike, without a message.
      if (!opened) return kmsError('InvalidCiphertextException')
      if (input.KeyId !== undefined) {
        const requested = resolveKey(input.KeyId, state.region)
        if (requested !== opened.keyArn) {
          return kmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.')
        }
      }
      if (!state.authorize(principal, 'Decrypt', opened.keyArn)) return denied(principal, 'Decrypt', opened.keyArn)
      if (!opened.plaintext) return kmsError('InvalidCiphertextException')
      return [200, { KeyId: opened.keyArn, Plaintext: opened.plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }]
    },
  }

  /** (target, input[, principal]) → [httpStatus, responseObject]: the SOPS_ORACLE_KMS_MODULE contract. */
  function handle(target, input, principal = `arn:aws:iam::${TEST_ACCOUNT}:user/tsops-test`) {
    if (state.throttle > 0) {
      state.throttle--
      return kmsError('ThrottlingException', 'Rate exceeded')
    }
    const op = ops[String(target).replace(/^TrentService\./, '')]
    if (!String(target).startsWith('TrentService.') || !op) return kmsError('UnknownOperationException')
    return op(input ?? {}, principal)
  }

  return { state, handle }
}

// ---------------------------------------------------------------------------------------------
// SigV4 verification

const rfc3986 = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const sha256hex = (data) => crypto.createHash('sha256').update(data).digest('hex')
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest()

function canonicalQuery(rawQuery) {
  if (!rawQuery) return ''
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=')
      const [k, v] = i === -1 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]
      return [rfc3986(decodeURIComponent(k)), rfc3986(decodeURIComponent(v))]
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
}

/** The signature AWS would compute for this request (exported so tests can check the checker). */
export function computeSignature({ method, path, query, headers, signedHeaders, body, secretAccessKey, amzDate, scope }) {
  // Non-S3 services sign the path with every segment URI-encoded once more.
  const canonicalUri = path.split('/').map(rfc3986).join('/') || '/'
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${String(headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const canonicalRequest = [method, canonicalUri, canonicalQuery(query), canonicalHeaders, signedHeaders.join(';'), sha256hex(body)].join('\n')
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope.join('/'), sha256hex(canonicalRequest)].join('\n')
  const [date, region, service] = scope
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request')
  return hmac(signingKey, stringToSign).toString('hex')
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/

/**
 * → { ok: true, identity, region, service } or { ok: false, code, message }.
 * `identities`: Map accessKeyId → { secretAccessKey, sessionToken?, principal }.
 */
export function verifySigV4(req, body, identities, now = Date.now()) {
  const fail = (code, message) => ({ ok: false, code, message })
  const auth = req.headers.authorization
  if (!auth) return fail('MissingAuthenticationTokenException', 'Missing Authentication Token')
  const m = AUTH.exec(auth)
  if (!m) return fail('IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.`)
  const [, accessKeyId, date, region, service, signed, signature] = m
  const amzDate = req.headers['x-amz-date']
  if (!/^\d{8}T\d{6}Z$/.test(amzDate ?? '') || amzDate.slice(0, 8) !== date) return fail('IncompleteSignatureException', 'X-Amz-Date is missing or does not match the credential scope')
  const signedHeaders = signed.split(';')
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) return fail('InvalidSignatureException', 'host and x-amz-date must be signed')
  const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15))
  if (Math.abs(now - t) > 15 * 60_000) return fail('InvalidSignatureException', `Signature expired: ${amzDate} is not within 15 minutes of the server time`)
  const identity = identities.get(accessKeyId)
  if (!identity) return fail('UnrecognizedClientException', 'The security token included in the request is invalid.')
  if ((identity.sessionToken ?? undefined) !== (req.headers['x-amz-security-token'] ?? undefined)) {
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.')
  }
  const url = new URL(req.url, 'http://localhost')
  const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : ''
  const expected = computeSignature({
    method: req.method,
    path: url.pathname,
    query: rawQuery,
    headers: req.headers,
    signedHeaders,
    body,
    secretAccessKey: identity.secretAccessKey,
    amzDate,
    scope: [date, region, service, 'aws4_request'],
  })
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return fail(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    )
  }
  return { ok: true, identity, accessKeyId, region, service }
}

// ---------------------------------------------------------------------------------------------
// STS AssumeRole (query protocol)

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d+):role\/(.+)$/
const xmlEscape = (s) => String(s).replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)

function stsError(status, code, message) {
  return [
    status,
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${xmlEscape(message)}</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`,
  ]
}

// ---------------------------------------------------------------------------------------------
// The HTTP server

/**
 * Start the loopback KMS+STS on 127.0.0.1. Options:
 *   authorize(principal, action, keyArn) → boolean   (default: allow)
 *   assumable(roleArn, principal) → boolean          (default: role names not starting with "denied")
 *   delayMs: answer every KMS request after this delay (latency simulation for benchmarks)
 * Returns { url, port, state, log, identities, addIdentity, close }.
 *   state.throttle = N → the next N KMS requests are throttled.
 *   state.faults: scripted answers, one per request (whatever it is) until the list is empty:
 *     { status, headers?, body? } answered as given, { destroy: true } closes the connection
 *     without an answer, { silent: true } never answers.
 *   log: one entry per request: { service, operation, accessKeyId, principal, region, status, error?, input?, userAgent }.
 */
export async function startKmsServer(options = {}) {
  const kms = createKms({ authorize: options.authorize })
  const state = kms.state
  state.assumable = options.assumable ?? ((roleArn) => !/:role\/(.*\/)?denied[^/]*$/.test(roleArn))
  state.delayMs = options.delayMs ?? 0
  state.faults = []
  const log = []
  const identities = new Map()
  const addIdentity = (accessKeyId, secretAccessKey, principal = `arn:aws:iam::${TEST_ACCOUNT}:user/${accessKeyId}`, sessionToken) =>
    identities.set(accessKeyId, { secretAccessKey, principal, sessionToken })
  addIdentity(TEST_CREDENTIALS.accessKeyId, TEST_CREDENTIALS.secretAccessKey, `arn:aws:iam::${TEST_ACCOUNT}:user/tsops-test`)

  function assumeRole(params, identity) {
    if (params.get('Version') !== '2011-06-15') return stsError(400, 'InvalidParameterValue', 'unsupported Version')
    const roleArn = params.get('RoleArn') ?? ''
    const session = params.get('RoleSessionName') ?? ''
    if (!/^[\w+=,.@-]{2,64}$/.test(session)) {
      return stsError(400, 'ValidationError', `1 validation error detected: Value '${session}' at 'roleSessionName' failed to satisfy constraint`)
    }
    const role = ROLE_ARN.exec(roleArn)
    if (!role) return stsError(400, 'ValidationError', `${roleArn} is invalid`)
    if (!state.assumable(roleArn, identity.principal)) {
      return stsError(403, 'AccessDenied', `User: ${identity.principal} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`)
    }
    const accessKeyId = `ASIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`
    const secretAccessKey = crypto.randomBytes(30).toString('base64')
    const sessionToken = crypto.randomBytes(48).toString('base64')
    const principal = `arn:aws:sts::${role[1]}:assumed-role/${role[2].split('/').pop()}/${session}`
    addIdentity(accessKeyId, secretAccessKey, principal, sessionToken)
    const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    return [
      200,
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
        `<AssumedRoleUser><AssumedRoleId>AROATSOPSTEST:${xmlEscape(session)}</AssumedRoleId><Arn>${xmlEscape(principal)}</Arn></AssumedRoleUser>` +
        `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(secretAccessKey)}</SecretAccessKey>` +
        `<SessionToken>${xmlEscape(sessionToken)}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    ]
  }

  function route(req, body) {
    const target = req.headers['x-amz-target']
    const isKms = typeof target === 'string' && target.startsWith('TrentService.')
    const form = !isKms && /application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') ? new URLSearchParams(body.toString('utf8')) : undefined
    const service = isKms ? 'kms' : form ? 'sts' : 'unknown'
    const entry = { service, operation: isKms ? target.slice('TrentService.'.length) : (form?.get('Action') ?? ''), status: 0, userAgent: req.headers['user-agent'] }
    log.push(entry)
    const reply = (status, payload) => {
      entry.status = status
      if (status >= 400) entry.error = isKms ? payload.__type : /<Code>([^<]*)</.exec(payload)?.[1]
      return { status, payload, json: isKms || service === 'unknown' }
    }
    if (service === 'unknown') return reply(400, { __type: 'UnknownOperationException' })

    const v = verifySigV4(req, body, identities)
    if (!v.ok) return isKms ? reply(400, { __type: v.code, message: v.message }) : reply(...stsError(403, v.code.replace(/Exception$/, ''), v.message))
    Object.assign(entry, { accessKeyId: v.accessKeyId, principal: v.identity.principal, region: v.region, signingService: v.service })
    if (v.service !== service) return isKms ? reply(400, { __type: 'InvalidSignatureException', message: `Credential should be scoped to correct service: '${service}'.` }) : reply(...stsError(403, 'SignatureDoesNotMatch', 'wrong service'))

    if (isKms) {
      let input
      try {
        input = JSON.parse(body.toString('utf8') || '{}')
      } catch {
        return reply(400, { __type: 'SerializationException' })
      }
      entry.input = { KeyId: input.KeyId, EncryptionContext: input.EncryptionContext }
      return reply(...kms.handle(target, input, v.identity.principal))
    }
    if (form.get('Action') !== 'AssumeRole') return reply(...stsError(400, 'InvalidAction', `Could not find operation ${form.get('Action')}`))
    entry.input = { RoleArn: form.get('RoleArn'), RoleSessionName: form.get('RoleSessionName') }
    return reply(...assumeRole(form, v.identity))
  }

  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const fault = state.faults.shift()
      if (fault) return answerFault(req, res, fault)
      const { status, payload, json } = route(req, Buffer.concat(chunks))
      const send = () => {
        res.writeHead(status, {
          'Content-Type': json ? 'application/x-amz-json-1.1' : 'text/xml',
          'x-amzn-RequestId': crypto.randomUUID(),
          ...(json && status >= 400 ? { 'x-amzn-ErrorType': payload.__type } : {}),
        })
        res.end(json ? JSON.stringify(payload) : payload)
      }
      if (state.delayMs > 0) setTimeout(send, state.delayMs)
      else send()
    })
  })
  /** A scripted answer (see state.faults), before and regardless of the signature check. */
  function answerFault(req, res, fault) {
    log.push({ service: 'kms', operation: String(req.headers['x-amz-target'] ?? '').replace(/^TrentService\./, ''), status: fault.status ?? 0, error: 'fault', userAgent: req.headers['user-agent'] })
    if (fault.destroy) return req.socket.destroy()
    if (fault.silent) return undefined
    res.writeHead(fault.status, fault.headers ?? {})
    res.end(fault.body ?? '')
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    log,
    identities,
    addIdentity,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A loopback URL nothing listens on (bound, then closed): requests to it are refused. */
export async function closedPortUrl() {
  const s = http.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise((resolve) => s.close(resolve))
  return `http://127.0.0.1:${port}`
}

/** The default KMS, for SOPS_ORACLE_KMS_MODULE (see aws-kms-oracle-module.mjs). */
const defaultKms = createKms()
export const handle = defaultKms.handle

// ---------------------------------------------------------------------------------------------
// The same server on its own thread (still in-process): for benchmarks, so the server's CPU
// (SigV4 checks, AES-GCM) does not queue behind the client's on one event loop — a real KMS
// runs elsewhere.

/** → { url, close(), count(operation) → Promise<number> of successful requests }. */
export async function startKmsServerThread(options = {}) {
  const { Worker } = await import('node:worker_threads')
  const worker = new Worker(new URL(import.meta.url), { workerData: { tsopsKmsServer: { delayMs: options.delayMs ?? 0 } } })
  const url = await new Promise((resolve, reject) => {
    worker.once('message', (m) => resolve(m.url))
    worker.once('error', reject)
  })
  const ask = (message) =>
    new Promise((resolve) => {
      worker.once('message', resolve)
      worker.postMessage(message)
    })
  return {
    url,
    count: async (operation) => (await ask({ count: operation })).count,
    close: async () => {
      await ask({ close: true })
      await worker.terminate()
    },
  }
}

const threadStart = await (async () => {
  const { isMainThread, workerData, parentPort } = await import('node:worker_threads')
  if (isMainThread || !workerData?.tsopsKmsServer) return undefined
  const server = await startKmsServer(workerData.tsopsKmsServer)
  parentPort.on('message', async (m) => {
    if (m.count) parentPort.postMessage({ count: server.log.filter((l) => l.operation === m.count && l.status === 200).length })
    if (m.close) {
      await server.close()
      parentPort.postMessage({ closed: true })
    }
  })
  parentPort.postMessage({ url: server.url })
  return server
})()
void threadStart
