// Azure Key Vault key source through the real @azure/keyvault-keys and @azure/identity
// (DefaultAzureCredential -> EnvironmentCredential -> MSAL client credentials), against the
// loopback Key Vault + Entra ID in ../helpers/servers/azure-kv.ts over HTTPS.
//
// In-process, the test CA is handed to the SDK through AzureKvOptions.tlsOptions (node reads
// NODE_EXTRA_CA_CERTS only at start-up); the CLI tests use NODE_EXTRA_CA_CERTS like a user would.
// EnvironmentCredential reads AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET from
// process.env itself, so this file (its own worker process) sets them there.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { azureKvKeySource, credentialOptions, fromEntry, fromSpec, isLoopbackUrl, parseAzureKeyUrl, type AzureKvOptions } from '../../src/keys/azure-kv.js'
import { MAX_ATTEMPTS } from '../../src/keys/timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../../src/keys/types.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { closedPort, startHangingServer } from '../helpers/servers/gcp-kms.js'
import { TEST_CLIENT_ID, TEST_TENANT, startAzureKvServer, type AzureKvServer } from '../helpers/servers/azure-kv.js'
import { writtenEntry } from '../helpers/written-entry.js'
import { tempWorkspace } from '../helpers/workspace.js'

const rand = (n: number) => new Uint8Array(randomBytes(n))

let server: AzureKvServer
let version: string
let otherVersion: string
let options: AzureKvOptions
const { dir } = tempWorkspace('tsops-azkv-')
const savedEnv = new Map<string, string | undefined>()

function setProcessEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (!savedEnv.has(k)) savedEnv.set(k, process.env[k])
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
}

beforeAll(async () => {
  server = await startAzureKvServer()
  version = server.addKey('sops-key')
  otherVersion = server.addKey('other-key')
  options = { tlsOptions: { ca: server.cert.ca } }
  // Only the service principal of the test tenant: no other credential of the chain may answer.
  setProcessEnv({ ...server.credentialEnv(), AZURE_CLIENT_CERTIFICATE_PATH: undefined, AZURE_USERNAME: undefined, AZURE_FEDERATED_TOKEN_FILE: undefined })
}, 60_000)
afterAll(async () => {
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  await server?.close()
})
beforeEach(() => {
  server.log.length = 0
  server.throttle(0)
  server.deny('sops-key', false)
})

/** A fresh context: each gets its own DefaultAzureCredential (and so its own token request). */
const newCtx = (): KeyContext => ({ env: { ...server.credentialEnv() } })
const source = (url: string) => azureKvKeySource(parseAzureKeyUrl(url), options)

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

/** azcore's ResponseError text for a Key Vault error answer `{"error": {code, message}}`. */
function azureResponse(method: string, url: string, status: number, statusText: string, code: string, message: string): string {
  const sep = '-'.repeat(80)
  return `${method} ${url}\n${sep}\nRESPONSE ${status}: ${status} ${statusText}\nERROR CODE: ${code}\n${sep}\n{\n  "error": {\n    "code": "${code}",\n    "message": "${message}"\n  }\n}\n${sep}\n`
}

describe('azure_kv key source (real Key Vault SDK and DefaultAzureCredential, loopback HTTPS)', () => {
  it('round-trips a 32-byte key and a 33-byte share; challenge, token and RSA-OAEP-256 all real', async () => {
    const ctx = newCtx()
    const src = source(server.keyUrl('sops-key', version))
    for (const part of [rand(32), rand(33)]) {
      const entry = await src.wrap(part, ctx)
      expect(await azureKvKeySource(parseAzureKeyUrl(server.keyUrl('sops-key', version)), options).unwrap(entry, ctx)).toEqual(part)
    }
    // The SDK's challenge dance: a first request without a token gets the 401, then Entra ID is asked.
    const first = server.log[0]!
    expect(first).toMatchObject({ status: 401, authorized: false })
    expect(server.log.some((l) => l.path.endsWith('/oauth2/v2.0/token') && l.status === 200)).toBe(true)
    expect(server.log.filter((l) => l.path.endsWith('/encrypt') && l.status === 200)).toHaveLength(2)
    expect(server.log.filter((l) => l.path.endsWith('/decrypt') && l.status === 200)).toHaveLength(2)
    expect(server.log.filter((l) => l.path.startsWith('/keys/')).every((l) => l.authorized || l.status === 401)).toBe(true)
  })

  it('writes {created_at, enc, name, vault_url, version} like sops; enc is unpadded base64url', async () => {
    const before = Math.floor(Date.now() / 1000)
    const entry = await writtenEntry(source(server.keyUrl('sops-key', version)), rand(32), newCtx())
    expect(entry.type).toBe('azure_kv')
    expect(Object.keys(entry.fields).sort()).toEqual(['created_at', 'enc', 'name', 'vault_url', 'version'])
    expect(entry.fields).toMatchObject({ name: 'sops-key', vault_url: server.url, version })
    const createdAt = entry.fields.created_at as string
    expect(createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Date.parse(createdAt) / 1000).toBeGreaterThanOrEqual(before)
    const enc = entry.fields.enc as string
    expect(enc).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(enc, 'base64url')).toHaveLength(256) // one RSA-2048 block
  })

  it('without a version, the latest one is looked up and written; files keep decrypting after a rotation', async () => {
    const name = 'rotating-key'
    const v1 = server.addKey(name)
    const ctx = newCtx()
    const part = rand(32)
    const entry = await source(server.keyUrl(name)).wrap(part, ctx)
    expect(entry.fields.version).toBe(v1)
    const v2 = server.addKey(name)
    const entry2 = await source(server.keyUrl(name)).wrap(part, ctx)
    expect(entry2.fields.version).toBe(v2)
    expect(await azureKvKeySource({ vaultUrl: server.url, name, version: v1 }, options).unwrap(entry, ctx)).toEqual(part)
    expect(await azureKvKeySource({ vaultUrl: server.url, name, version: v2 }, options).unwrap(entry2, ctx)).toEqual(part)
  })

  it('parses key URLs like sops; ids are sops\'s ToString', () => {
    expect(parseAzureKeyUrl(' https://v.vault.azure.net/keys/k/abc ')).toEqual({ vaultUrl: 'https://v.vault.azure.net', name: 'k', version: 'abc' })
    expect(parseAzureKeyUrl('https://v.vault.azure.net/keys/k')).toEqual({ vaultUrl: 'https://v.vault.azure.net', name: 'k', version: '' })
    expect(parseAzureKeyUrl('https://v.vault.azure.net/keys/k/')).toEqual({ vaultUrl: 'https://v.vault.azure.net', name: 'k', version: '' })
    expect(parseAzureKeyUrl('https://v.vault.azure.net//keys/k')).toEqual({ vaultUrl: 'https://v.vault.azure.net/', name: 'k', version: '' })
    for (const bad of ['http://v.vault.azure.net/keys/k', 'https://v.vault.azure.net/secrets/k', 'https://v.vault.azure.net/keys/k/v/x']) {
      expect(() => parseAzureKeyUrl(bad)).toThrow(`could not parse ${JSON.stringify(bad)} into a valid Azure Key Vault MasterKey []`)
    }
    // Go's %q: a control character is escaped as Go escapes it, not as JSON does.
    expect(() => parseAzureKeyUrl('a\u0001b')).toThrow('could not parse "a\\x01b" into a valid Azure Key Vault MasterKey []')
    expect(fromSpec('https://v.vault.azure.net/keys/k/abc').id).toBe('https://v.vault.azure.net/keys/k/abc')
    expect(fromEntry({ type: 'azure_kv', fields: { vault_url: 'https://v', name: 'k', version: '1', enc: 'x' } }).id).toBe('https://v/keys/k/1')
  })

  it('access denied: 403 is a clear reason naming the key', async () => {
    const entry = await source(server.keyUrl('sops-key', version)).wrap(rand(32), newCtx())
    server.deny('sops-key')
    const url = server.keyUrl('sops-key', version)
    const e = await failureOf(source(url).unwrap(entry, newCtx()))
    expect(e.message).toContain(url)
    // azcore's ResponseError, as sops prints it: request, status, error code, the body pretty-printed.
    expect((e as KeyUnwrapError).reason).toBe(
      `failed to decrypt sops data key with Azure Key Vault key '${url}': ${azureResponse('POST', `${url}/decrypt`, 403, 'Forbidden', 'Forbidden', `Operation \\"decrypt\\" is not allowed by vault policy. Caller: appid=${TEST_CLIENT_ID};tid=${TEST_TENANT} Vault: test-vault;location=loopback`)}`,
    )
    const wrapErr = await failureOf(source(url).wrap(rand(32), newCtx()))
    expect(wrapErr.message).toMatch(new RegExp(`^failed to encrypt sops data key with Azure Key Vault key '.*': POST ${escapeRegExp(url)}/encrypt\n-{80}\nRESPONSE 403: 403 Forbidden\nERROR CODE: Forbidden\n`))
  })

  it('unknown key or version: 404 KeyNotFound', async () => {
    const e = await failureOf(source(server.keyUrl('no-such-key')).wrap(rand(32), newCtx()))
    expect(e.message).toMatch(/^failed to fetch Azure Key to retrieve key version: GET https:\/\/127\.0\.0\.1:\d+\/keys\/no-such-key\/\n-{80}\nRESPONSE 404: 404 Not Found\nERROR CODE: KeyNotFound\n-{80}\n\{\n {2}"error": \{\n {4}"code": "KeyNotFound",\n {4}"message": "A key with \(name\/id\) no-such-key was not found in this key vault/)
    const entry: KeyEntry = { type: 'azure_kv', fields: { vault_url: server.url, name: 'sops-key', version: 'f'.repeat(32), enc: 'AAAA', created_at: '2025-01-01T00:00:00Z' } }
    expect(await reasonOf(azureKvKeySource({ vaultUrl: server.url, name: 'sops-key', version: 'f'.repeat(32) }, options).unwrap(entry, newCtx()))).toMatch(
      /POST https:\/\/127\.0\.0\.1:\d+\/keys\/sops-key\/f{32}\/decrypt\n-{80}\nRESPONSE 404: 404 Not Found\nERROR CODE: KeyNotFound\n/,
    )
  })

  it('wrong key: a data key encrypted with another key fails to decrypt with a reason saying so', async () => {
    const entry = await source(server.keyUrl('other-key', otherVersion)).wrap(rand(32), newCtx())
    const swapped: KeyEntry = { type: 'azure_kv', fields: { ...entry.fields, name: 'sops-key', version } }
    const reason = await reasonOf(azureKvKeySource({ vaultUrl: server.url, name: 'sops-key', version }, options).unwrap(swapped, newCtx()))
    expect(reason).toMatch(/\/decrypt\n-{80}\nRESPONSE 400: 400 Bad Request\nERROR CODE: BadParameter\n-{80}\n[^]*"message": "The parameter is incorrect\.\\r\\n"/)
  })

  it('malformed enc values are refused before any request', async () => {
    const src = azureKvKeySource({ vaultUrl: server.url, name: 'sops-key', version }, options)
    for (const enc of ['abc=', 'a+b/', '']) {
      const entry: KeyEntry = { type: 'azure_kv', fields: { vault_url: server.url, name: 'sops-key', version, enc, created_at: '2025-01-01T00:00:00Z' } }
      expect(await reasonOf(src.unwrap(entry, newCtx()))).toMatch(/base64|no encrypted data key/)
    }
    expect(server.log).toHaveLength(0)
  })

  it('throttling: 429 with Retry-After is retried and then succeeds', async () => {
    const ctx = newCtx()
    const part = rand(32)
    const entry = await source(server.keyUrl('sops-key', version)).wrap(part, ctx) // token now cached
    server.log.length = 0
    server.throttle(2)
    expect(await fromEntryWithOptions(entry).unwrap(entry, ctx)).toEqual(part)
    expect(server.log.filter((l) => l.status === 429)).toHaveLength(2)
  })

  it('throttling that does not stop: gives up after 3 attempts with a clear reason', async () => {
    const ctx = newCtx()
    const entry = await source(server.keyUrl('sops-key', version)).wrap(rand(32), ctx)
    server.log.length = 0
    server.throttle(100)
    const reason = await reasonOf(fromEntryWithOptions(entry).unwrap(entry, ctx))
    expect(reason).toMatch(/RESPONSE 429: 429 Too Many Requests\nERROR CODE: Throttled\n-{80}\n[^]*Request was not allowed because of throttling/)
    expect(server.log.filter((l) => l.status === 429)).toHaveLength(3)
  })

  it('unreachable vault: fails after its attempts, naming the key URL', async () => {
    const url = `https://127.0.0.1:${await closedPort()}/keys/sops-key/${version}`
    const entry: KeyEntry = { type: 'azure_kv', fields: { ...parseFields(url), enc: Buffer.from(rand(256)).toString('base64url'), created_at: '2025-01-01T00:00:00Z' } }
    const e = await failureOf(source(url).unwrap(entry, newCtx()))
    expect(e.message).toContain(url)
    expect((e as KeyUnwrapError).reason).toMatch(/could not reach Key Vault at https:\/\/127\.0\.0\.1:\d+ after 3 attempts \(ECONNREFUSED\)/)
  })

  // Bounds injected (KeyContext.timeouts): a fraction of a second per attempt instead of 5 s.
  it('a vault that accepts connections but never answers: each attempt is cut short and retried', async () => {
    const hung = await startHangingServer()
    try {
      const url = `https://127.0.0.1:${hung.port}/keys/sops-key/${version}`
      const e = await failureOf(source(url).wrap(rand(32), { ...newCtx(), timeouts: { requestMs: 300 } }))
      expect(e.message).toContain(url)
      expect(e.message).toMatch(new RegExp(`Key Vault at https://127\\.0\\.0\\.1:${hung.port} did not answer \\(${MAX_ATTEMPTS} attempts of 0\\.3s\\)`))
      expect(hung.connections()).toBe(MAX_ATTEMPTS)
    } finally {
      await hung.close()
    }
  })

  it('a vault that never answers: the overall deadline ends the operation, retries included', async () => {
    const hung = await startHangingServer()
    try {
      const url = `https://127.0.0.1:${hung.port}/keys/sops-key/${version}`
      const e = await failureOf(source(url).wrap(rand(32), { ...newCtx(), timeouts: { requestMs: 60_000, overallMs: 300 } }))
      expect(e.message).toMatch(new RegExp(`Key Vault at https://127\\.0\\.0\\.1:${hung.port} did not answer within 0\\.3s`))
      expect(hung.connections()).toBe(1)
    } finally {
      await hung.close()
    }
  })

  it('a wrong client secret: Entra ID\'s refusal is the reason, the secret never appears', async () => {
    setProcessEnv({ AZURE_CLIENT_SECRET: 'tsops~wrong~secret' })
    try {
      const e = await failureOf(source(server.keyUrl('sops-key', version)).wrap(rand(32), newCtx()))
      expect(e.message).toMatch(/could not get an Azure access token \((AuthenticationError|AggregateAuthenticationError): .*AADSTS7000215: Invalid client secret/)
      expect(e.message).not.toContain('tsops~wrong~secret')
      expect(e.message).not.toContain(server.clientSecret)
      expect((e as { hint?: string }).hint).toMatch(/az login|AZURE_CLIENT_SECRET/)
    } finally {
      setProcessEnv({ AZURE_CLIENT_SECRET: server.clientSecret })
    }
  })

  it('an untrusted certificate is a TLS error (the test CA really is what makes the SDK connect)', async () => {
    const e = await failureOf(azureKvKeySource(parseAzureKeyUrl(server.keyUrl('sops-key', version))).wrap(rand(32), newCtx()))
    expect(e.message).toMatch(/TLS error talking to Key Vault at https:\/\/127\.0\.0\.1:\d+ \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/)
  })

  it('loopback relaxations apply to loopback hosts only', () => {
    expect(isLoopbackUrl('https://127.0.0.1:8443')).toBe(true)
    expect(isLoopbackUrl('https://[::1]:8443')).toBe(true)
    expect(isLoopbackUrl('https://localhost')).toBe(true)
    expect(isLoopbackUrl('https://myvault.vault.azure.net')).toBe(false)
    expect(isLoopbackUrl('https://127.0.0.1.nip.io')).toBe(false)
    expect(credentialOptions({ AZURE_AUTHORITY_HOST: 'https://127.0.0.1:1' })).toMatchObject({ disableInstanceDiscovery: true })
    expect(credentialOptions({ AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us' })).toMatchObject({ disableInstanceDiscovery: false })
    expect(credentialOptions({})).not.toHaveProperty('disableInstanceDiscovery')
  })
})

describe('tsops CLI with an Azure Key Vault key', () => {
  const cliEnv = (extra: Record<string, string | undefined> = {}) =>
    cleanEnv({ XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...server.credentialEnv(), NODE_EXTRA_CA_CERTS: server.cert.caPath, ...extra })

  it('encrypt --azure-kv (no version) / decrypt round trip; the metadata entry has sops\'s layout', async () => {
    const plain = path.join(dir, 'secrets.yaml')
    fs.writeFileSync(plain, 'db:\n    password: hunter2\n')
    const enc = await runCli(['encrypt', '--azure-kv', server.keyUrl('sops-key'), plain], { env: cliEnv() })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const text = enc.stdout.toString()
    expect(text).not.toContain('hunter2')
    expect(text).toMatch(
      new RegExp(
        // Sorted keys (sops's goToSops), quoted created_at, enc as one plain scalar.
        `sops:\\n    azure_kv:\\n        - created_at: "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"\\n          enc: [A-Za-z0-9_-]{342}\\n` +
          `          name: sops-key\\n          vault_url: ${escapeRegExp(server.url)}\\n          version: ${version}\\n    lastmodified: `,
      ),
    )
    const meta = (parseYaml(text) as { sops: { azure_kv: Record<string, string>[] } }).sops
    expect(Object.keys(meta.azure_kv[0]!).sort()).toEqual(['created_at', 'enc', 'name', 'vault_url', 'version'])
    const file = path.join(dir, 'secrets.enc.yaml')
    fs.writeFileSync(file, enc.stdout)
    const dec = await runCli(['decrypt', file], { env: cliEnv() })
    expect(dec.stderr).toBe('')
    expect(dec.code).toBe(0)
    expect(dec.stdout.toString()).toBe('db:\n    password: hunter2\n')
  })

  it('decrypt when the only key fails: exit 128, the key URL and the reason are listed', async () => {
    const plain = path.join(dir, 'denied.json')
    fs.writeFileSync(plain, '{"token": "t0k3n"}\n')
    const url = server.keyUrl('sops-key', version)
    expect((await runCli(['encrypt', '-i', '--azure-kv', url, plain], { env: cliEnv() })).code).toBe(0)
    server.deny('sops-key')
    const r = await runCli(['decrypt', plain], { env: cliEnv() })
    expect(r.code).toBe(128)
    expect(r.stdout.toString()).toBe('')
    expect(r.stderr).toContain('Failed to get the data key required to decrypt the SOPS file.')
    expect(r.stderr).toContain(`${url}: FAILED`)
    expect(reasonText(r.stderr)).toMatch(/RESPONSE 403: 403 Forbidden[^]*ERROR CODE: Forbidden[^]*"message": "Operation \\"decrypt\\"/)
    expect(r.stderr).not.toContain('t0k3n')
    expect(r.stderr).not.toContain(server.clientSecret)

    // The same file with its vault moved to a closed port (vault_url is metadata, outside the MAC).
    const port = await closedPort()
    const moved = fs.readFileSync(plain, 'utf8').replace(server.url, `https://127.0.0.1:${port}`)
    fs.writeFileSync(plain, moved)
    const unreachable = await runCli(['decrypt', plain], { env: cliEnv() })
    expect(unreachable.code).toBe(128)
    expect(unreachable.stderr).toContain(`https://127.0.0.1:${port}/keys/sops-key/${version}: FAILED`)
    expect(reasonText(unreachable.stderr)).toMatch(/could not reach Key Vault at https:\/\/127\.0\.0\.1:\d+ after 3 attempts \(ECONNREFUSED\)/)
  })
})

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

function parseFields(url: string): Record<string, string> {
  const ref = parseAzureKeyUrl(url)
  return { vault_url: ref.vaultUrl, name: ref.name, version: ref.version }
}

/** An entry's source with the test CA trusted (fromEntry builds one with default options). */
function fromEntryWithOptions(entry: KeyEntry) {
  return azureKvKeySource({ vaultUrl: entry.fields.vault_url as string, name: entry.fields.name as string, version: entry.fields.version as string }, options)
}

/** The failure reasons of the "could not decrypt" message with its 60-column wrapping undone. */
function reasonText(stderr: string): string {
  return stderr.replace(/\n\s+\| /g, ' ')
}
