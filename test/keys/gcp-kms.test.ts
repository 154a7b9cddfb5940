// GCP KMS key source through the real @google-cloud/kms client (gRPC and REST transports),
// against the loopback KeyManagementService in ../helpers/servers/gcp-kms.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { connectionSettings, fromEntry, fromSpec, gcpKmsKeySource } from '../../src/keys/gcp-kms.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../../src/keys/types.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { closedPort, startGcpKmsServer, testResourceId, type GcpKmsServer } from '../helpers/servers/gcp-kms.js'
import { writtenEntry } from '../helpers/written-entry.js'
import { tempWorkspace } from '../helpers/workspace.js'

const rand = (n: number) => new Uint8Array(randomBytes(n))
const KEY = testResourceId()
const OTHER_KEY = testResourceId('other-key')

let server: GcpKmsServer
const { dir } = tempWorkspace('tsops-gcp-')

beforeAll(async () => {
  server = await startGcpKmsServer()
  server.addKey(OTHER_KEY)
})
afterAll(async () => {
  await server?.close()
})
beforeEach(() => {
  server.calls.length = 0
  server.throttle(0)
  server.deny(KEY, false)
})

/** What a user of the loopback KMS sets; `rest` switches SOPS_GCP_KMS_CLIENT_TYPE. */
function gcpEnv(extra: Record<string, string | undefined> = {}, rest = false): Record<string, string | undefined> {
  return {
    GOOGLE_OAUTH_ACCESS_TOKEN: server.token,
    SOPS_GCP_KMS_ENDPOINT: rest ? server.restEndpoint : server.grpcEndpoint,
    ...(rest ? { SOPS_GCP_KMS_CLIENT_TYPE: 'rest' } : {}),
    ...extra,
  }
}
const ctxOf = (env: Record<string, string | undefined>): KeyContext => ({ env })

async function failureOf(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(Error)
  return e as Error
}

async function reasonOf(p: Promise<unknown>): Promise<string> {
  const e = await failureOf(p)
  expect(e).toBeInstanceOf(KeyUnwrapError)
  return (e as KeyUnwrapError).reason
}

describe('gcp_kms key source (real KMS client, loopback KeyManagementService)', () => {
  for (const transport of ['grpc', 'rest'] as const) {
    it(`round-trips a 32-byte key and a 33-byte share over ${transport}`, async () => {
      const ctx = ctxOf(gcpEnv({}, transport === 'rest'))
      const src = gcpKmsKeySource(KEY)
      for (const part of [rand(32), rand(33)]) {
        const entry = await src.wrap(part, ctx)
        expect(await fromEntry(entry).unwrap(entry, ctx)).toEqual(part)
      }
      expect(server.calls.map((c) => [c.transport, c.method, c.name])).toEqual([
        [transport, 'Encrypt', KEY],
        [transport, 'Decrypt', KEY],
        [transport, 'Encrypt', KEY],
        [transport, 'Decrypt', KEY],
      ])
      // GOOGLE_OAUTH_ACCESS_TOKEN reached the server as a bearer token on every call.
      expect(server.calls.every((c) => c.authorization === `Bearer ${server.token}`)).toBe(true)
    })
  }

  it('writes {created_at, enc, resource_id} like sops: RFC 3339 UTC seconds, std base64 of the KMS ciphertext', async () => {
    const before = Math.floor(Date.now() / 1000)
    const entry = await writtenEntry(gcpKmsKeySource(KEY), rand(32), ctxOf(gcpEnv()))
    expect(entry.type).toBe('gcp_kms')
    expect(Object.keys(entry.fields).sort()).toEqual(['created_at', 'enc', 'resource_id'])
    expect(entry.fields.resource_id).toBe(KEY)
    const createdAt = entry.fields.created_at as string
    expect(createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Date.parse(createdAt) / 1000).toBeGreaterThanOrEqual(before)
    const enc = entry.fields.enc as string
    expect(enc).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
    // The server's ciphertext is iv(12) + 32 bytes + tag(16): the raw bytes, not base64-of-base64.
    expect(Buffer.from(enc, 'base64')).toHaveLength(60)
  })

  it('ids: spaces removed (sops), invalid resource ids refused before any call', async () => {
    expect(fromSpec(' projects/p/locations/l/keyRings/r/cryptoKeys/k ').id).toBe('projects/p/locations/l/keyRings/r/cryptoKeys/k')
    expect(fromEntry({ type: 'gcp_kms', fields: { resource_id: KEY, enc: '' } }).id).toBe(KEY)
    const bad = 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1'
    const e = await failureOf(gcpKmsKeySource(bad).wrap(rand(32), ctxOf(gcpEnv())))
    expect(e.message).toBe(`no valid resource ID found in "${bad}"`)
    expect(await reasonOf(gcpKmsKeySource(bad).unwrap({ type: 'gcp_kms', fields: { resource_id: bad, enc: 'AAAA' } }, ctxOf(gcpEnv())))).toMatch(
      /no valid resource ID/,
    )
    expect(server.calls).toHaveLength(0)
  })

  it('access denied: PERMISSION_DENIED is a clear reason, not retried', async () => {
    const entry = await gcpKmsKeySource(KEY).wrap(rand(32), ctxOf(gcpEnv()))
    server.deny(KEY)
    server.calls.length = 0
    const reason = await reasonOf(fromEntry(entry).unwrap(entry, ctxOf(gcpEnv())))
    // grpc-go's words, as sops prints them.
    expect(reason).toMatch(/^failed to decrypt sops data key with GCP KMS key: rpc error: code = PermissionDenied desc = Permission 'cloudkms\.cryptoKeyVersions\.useToDecrypt' denied on resource/)
    expect(server.calls).toHaveLength(1)
    const wrapErr = await failureOf(gcpKmsKeySource(KEY).wrap(rand(32), ctxOf(gcpEnv())))
    expect(wrapErr.message).toMatch(/^failed to encrypt sops data key with GCP KMS key: rpc error: code = PermissionDenied desc = .*useToEncrypt/)
  })

  it('wrong key: a data key encrypted with another key fails INVALID_ARGUMENT with a reason saying so', async () => {
    const entry = await gcpKmsKeySource(OTHER_KEY).wrap(rand(32), ctxOf(gcpEnv()))
    const swapped: KeyEntry = { type: 'gcp_kms', fields: { ...entry.fields, resource_id: KEY } }
    const reason = await reasonOf(fromEntry(swapped).unwrap(swapped, ctxOf(gcpEnv())))
    expect(reason).toMatch(/rpc error: code = InvalidArgument desc = Decryption failed/)
  })

  it('unknown key: NOT_FOUND', async () => {
    const missing = testResourceId('no-such-key')
    const e = await failureOf(gcpKmsKeySource(missing).wrap(rand(32), ctxOf(gcpEnv())))
    expect(e.message).toMatch(new RegExp(`rpc error: code = NotFound desc = CryptoKey ${missing.replace(/\//g, '\\/')} not found\\.$`))
  })

  it('bad credentials: UNAUTHENTICATED with a hint', async () => {
    const e = await failureOf(gcpKmsKeySource(KEY).wrap(rand(32), ctxOf(gcpEnv({ GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.wrong' }))))
    expect(e.message).toMatch(/rpc error: code = Unauthenticated desc = Request had invalid authentication credentials/)
    expect((e as { hint?: string }).hint).toMatch(/GOOGLE_OAUTH_ACCESS_TOKEN/)
    expect(e.message).not.toContain('ya29.wrong')
  })

  it('GOOGLE_CREDENTIALS (a file path, or the JSON itself) wins over GOOGLE_OAUTH_ACCESS_TOKEN', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    })
    const email = 'sops-test@tsops-test.iam.gserviceaccount.com'
    server.trustServiceAccount(email, publicKey)
    const json = JSON.stringify({
      type: 'service_account',
      project_id: 'tsops-test',
      private_key_id: 'k1',
      private_key: privateKey,
      client_email: email,
      client_id: '1',
      // Never contacted: google-auth-library signs its own JWT access token for KMS.
      token_uri: 'https://127.0.0.1:1/token',
    })
    const file = path.join(dir, 'service-account.json')
    fs.writeFileSync(file, json, { mode: 0o600 })
    for (const value of [file, json]) {
      server.calls.length = 0
      const env = gcpEnv({ GOOGLE_CREDENTIALS: value, GOOGLE_OAUTH_ACCESS_TOKEN: 'ya29.not-used' })
      const part = rand(32)
      const entry = await gcpKmsKeySource(KEY).wrap(part, ctxOf(env))
      expect(await fromEntry(entry).unwrap(entry, ctxOf(env))).toEqual(part)
      expect(server.calls.map((c) => c.principal)).toEqual([email, email])
    }
  })

  it('unusable GOOGLE_CREDENTIALS values are named, never echoed', async () => {
    const secretish = '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIsecret'
    const e = await failureOf(gcpKmsKeySource(KEY).wrap(rand(32), ctxOf(gcpEnv({ GOOGLE_CREDENTIALS: secretish }))))
    expect(e.message).toMatch(/GOOGLE_CREDENTIALS is neither an existing file nor JSON credentials/)
    expect(e.message).not.toContain('MIIsecret')
    const file = path.join(dir, 'creds.json')
    fs.writeFileSync(file, '[1, 2]')
    const e2 = await failureOf(gcpKmsKeySource(KEY).wrap(rand(32), ctxOf(gcpEnv({ GOOGLE_CREDENTIALS: file }))))
    expect(e2.message).toMatch(/GOOGLE_CREDENTIALS does not hold a JSON credentials object/)
    expect(server.calls).toHaveLength(0)
  })

  it('throttling: RESOURCE_EXHAUSTED is retried with backoff and then succeeds', async () => {
    server.throttle(2)
    const part = rand(32)
    const entry = await gcpKmsKeySource(KEY).wrap(part, ctxOf(gcpEnv()))
    expect(server.calls.filter((c) => c.method === 'Encrypt')).toHaveLength(3)
    server.throttle(1)
    expect(await fromEntry(entry).unwrap(entry, ctxOf(gcpEnv()))).toEqual(part)
  })

  it('throttling that does not stop: gives up after 3 attempts with a clear reason', async () => {
    const entry = await gcpKmsKeySource(KEY).wrap(rand(32), ctxOf(gcpEnv()))
    server.calls.length = 0
    server.throttle(100)
    const reason = await reasonOf(fromEntry(entry).unwrap(entry, ctxOf(gcpEnv())))
    expect(reason).toMatch(/GCP KMS throttled the request \(quota exceeded\) and still did after 3 attempts \(RESOURCE_EXHAUSTED: Quota exceeded/)
    expect(server.calls).toHaveLength(3)
  })

  for (const transport of ['grpc', 'rest'] as const) {
    it(`unreachable endpoint (${transport}): fails after its attempts, naming the key and the endpoint`, async () => {
      const endpoint = `127.0.0.1:${await closedPort()}`
      const env = { ...gcpEnv({}, transport === 'rest'), SOPS_GCP_KMS_ENDPOINT: endpoint }
      const entry: KeyEntry = { type: 'gcp_kms', fields: { resource_id: KEY, enc: Buffer.from(rand(60)).toString('base64'), created_at: '2025-01-01T00:00:00Z' } }
      const e = await failureOf(fromEntry(entry).unwrap(entry, ctxOf(env)))
      expect(e).toBeInstanceOf(KeyUnwrapError)
      expect(e.message).toContain(KEY)
      expect((e as KeyUnwrapError).reason).toMatch(new RegExp(`could not reach GCP KMS at ${endpoint.replace(/\./g, '\\.')}.*ECONNREFUSED`))
    })
  }

  it('reads the endpoint, client type and universe domain from ctx.env', () => {
    expect(connectionSettings({})).toEqual({ rest: false, plaintext: false })
    expect(connectionSettings({ SOPS_GCP_KMS_ENDPOINT: 'cloudkms.example.com:8443', SOPS_GCP_KMS_CLIENT_TYPE: 'REST' })).toEqual({
      rest: true,
      plaintext: false,
      host: 'cloudkms.example.com',
      port: 8443,
    })
    expect(connectionSettings({ SOPS_GCP_KMS_ENDPOINT: '[::1]:9000' })).toMatchObject({ host: '::1', port: 9000, plaintext: true })
    expect(connectionSettings({ SOPS_GCP_KMS_UNIVERSE_DOMAIN: 's3nsapis.fr' })).toMatchObject({ universeDomain: 's3nsapis.fr' })
    expect(() => connectionSettings({ SOPS_GCP_KMS_CLIENT_TYPE: 'http' })).toThrow(/use grpc or rest/)
  })
})

describe('tsops CLI with a GCP KMS key', () => {
  const cliEnv = (extra: Record<string, string | undefined> = {}) => cleanEnv({ XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...gcpEnv(), ...extra })

  it('encrypt --gcp-kms / decrypt round trip; the metadata entry has sops\'s layout', async () => {
    const plain = path.join(dir, 'secrets.yaml')
    fs.writeFileSync(plain, 'db:\n    password: hunter2\n')
    const enc = await runCli(['encrypt', '--gcp-kms', KEY, plain], { env: cliEnv() })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const text = enc.stdout.toString()
    expect(text).not.toContain('hunter2')
    // Sorted keys (sops's goToSops), quoted created_at, enc as one plain base64 scalar.
    expect(text).toMatch(
      new RegExp(
        `sops:\\n    gcp_kms:\\n        - created_at: "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"\\n          enc: [A-Za-z0-9+/]+=*\\n` +
          `          resource_id: ${KEY.replace(/\//g, '\\/')}\\n    lastmodified: `,
      ),
    )
    const meta = (parseYaml(text) as { sops: { gcp_kms: Record<string, string>[] } }).sops
    expect(Object.keys(meta.gcp_kms[0]!).sort()).toEqual(['created_at', 'enc', 'resource_id'])
    const file = path.join(dir, 'secrets.enc.yaml')
    fs.writeFileSync(file, enc.stdout)
    const dec = await runCli(['decrypt', file], { env: cliEnv() })
    expect(dec.stderr).toBe('')
    expect(dec.code).toBe(0)
    expect(dec.stdout.toString()).toBe('db:\n    password: hunter2\n')
  })

  it('decrypt when the only key fails: exit 128, the key and the reason are listed', async () => {
    const plain = path.join(dir, 'denied.json')
    fs.writeFileSync(plain, '{"token": "t0k3n"}\n')
    expect((await runCli(['encrypt', '-i', '--gcp-kms', KEY, plain], { env: cliEnv() })).code).toBe(0)
    server.deny(KEY)
    const r = await runCli(['decrypt', plain], { env: cliEnv() })
    expect(r.code).toBe(128)
    expect(r.stdout.toString()).toBe('')
    expect(r.stderr).toContain('Failed to get the data key required to decrypt the SOPS file.')
    expect(r.stderr).toContain(`${KEY}: FAILED`)
    expect(reasonText(r.stderr)).toMatch(/rpc error: code = PermissionDenied desc =/)
    expect(r.stderr).not.toContain('t0k3n')
    expect(r.stderr).not.toContain(server.token)

    const port = await closedPort()
    const unreachable = await runCli(['decrypt', plain], { env: cliEnv({ SOPS_GCP_KMS_ENDPOINT: `127.0.0.1:${port}` }) })
    expect(unreachable.code).toBe(128)
    expect(unreachable.stderr).toContain(`${KEY}: FAILED`)
    expect(reasonText(unreachable.stderr)).toMatch(/could not reach GCP KMS at 127\.0\.0\.1:\d+ after 3 attempts \(UNAVAILABLE: .*ECONNREFUSED/)
  })
})

/** The failure reasons of the "could not decrypt" message with its 60-column wrapping undone. */
function reasonText(stderr: string): string {
  return stderr.replace(/\n\s+\| /g, ' ')
}
