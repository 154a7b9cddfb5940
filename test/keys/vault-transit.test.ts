/**
 * Vault transit key source through the real fetch against the loopback Vault in
 * test/helpers/servers/vault.ts (token policies, namespaces, Vault's error bodies).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { allowed, fromEntry, fromSpec, parseVaultUri } from '../../src/keys/vault-transit.js'
import { unwrapDataKey, wrapDataKey } from '../../src/keys/datakey.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../../src/keys/types.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { closedPortUrl } from '../helpers/servers/aws-kms.js'
import { startVaultServer, VAULT_ROOT_TOKEN, type VaultServer } from '../helpers/servers/vault.js'
import { writtenEntry } from '../helpers/written-entry.js'
import { tempWorkspace } from '../helpers/workspace.js'

let vault: VaultServer
let standby: VaultServer
const { dir } = tempWorkspace('tsops-vault-')
const uri = (engine = 'transit', key = 'sops') => `${vault.url}/v1/${engine}/keys/${key}`
const ctxFor = (extra: Record<string, string | undefined> = {}): KeyContext => ({ env: { HOME: dir, VAULT_TOKEN: VAULT_ROOT_TOKEN, ...extra } })
const dataKey = () => new Uint8Array(crypto.randomBytes(32))
const unwrapped = (text: string) => text.replace(/\n\s*\| ?/g, ' ')

beforeAll(async () => {
  vault = await startVaultServer()
  standby = await startVaultServer()
  vault.mount('transit', ['sops', 'other'])
  vault.mount('secret/team/transit', ['nested'])
  vault.mount('team-transit', ['ns-key'], 'team-a')
})
afterAll(async () => {
  await vault.close()
  await standby.close()
})
afterEach(() => {
  vault.log.length = 0
  standby.log.length = 0
  vault.state.unavailable = 0
  standby.state.redirectTo = undefined
})

describe('URIs', () => {
  it('splits address, engine path (with slashes) and key name like sops', () => {
    expect(parseVaultUri('https://vault.example.com:8200/v1/transit/keys/k')).toEqual({
      vaultAddress: 'https://vault.example.com:8200',
      enginePath: 'transit',
      keyName: 'k',
    })
    expect(parseVaultUri('http://127.0.0.1:8200/v1/secret/team/transit/keys/app/')).toEqual({
      vaultAddress: 'http://127.0.0.1:8200',
      enginePath: 'secret/team/transit',
      keyName: 'app',
    })
    // Go's url keeps an explicit default port; so must the metadata.
    expect(parseVaultUri('https://vault:443/v1/transit/keys/k').vaultAddress).toBe('https://vault:443')
    expect(fromSpec(' https://v:8200/v1/transit/keys/k ').id).toBe('https://v:8200/v1/transit/keys/k')
  })

  it('rejects what sops rejects', async () => {
    // sops's words.
    expect(() => parseVaultUri('https://vault/prefix/v1/transit/keys/k')).toThrow(
      'running Vault with a prefixed URL is not supported! (Format has to be like https://vault.example.com:8200/v1/transit/keys/keyName)',
    )
    expect(() => parseVaultUri('vault.example.com/v1/transit/keys/k')).toThrow(
      'missing scheme in Vault URL (should be like this: +https://vault.example.com:8200/v1/transit/keys/keyName), got: vault.example.com/v1/transit/keys/k',
    )
    expect(() => parseVaultUri('https://vault/v1/transit/k')).toThrow('vault path does not seem to be formatted correctly: (eg. https://vault.example.com:8200/v1/transit/keys/keyName)')
    expect(() => parseVaultUri('https://vault/v1/keys/k')).toThrow(/formatted correctly/)
    // Like sops, the segment before the key name is not checked, and another scheme fails only when used.
    expect(parseVaultUri('https://vault/v1/transit/other/k')).toEqual({ vaultAddress: 'https://vault', enginePath: 'transit', keyName: 'k' })
    await expect(fromSpec('ftp://vault/v1/transit/keys/k').wrap(dataKey(), ctxFor())).rejects.toThrow(
      `failed to encrypt sops data key to Vault transit backend 'transit/encrypt/k': Put "ftp://vault/v1/transit/encrypt/k": unsupported protocol scheme "ftp"`,
    )
  })

  it('SOPS_HC_VAULT_ALLOWLIST: all by default, none, or URL prefixes of the address', () => {
    const u = 'https://vault.corp:8200'
    expect(allowed(u, { SOPS_HC_VAULT_ALLOWLIST: 'https://vault.corp:8200/v1/' })).toBe(false) // sops matches the address only
    expect(allowed(u, { SOPS_HC_VAULT_ALLOWLIST: 'https://a,,https://vault.corp:8200' })).toBe(false) // an empty entry is an error
    expect(allowed(u, {})).toBe(true)
    expect(allowed(u, { SOPS_HC_VAULT_ALLOWLIST: 'all' })).toBe(true)
    expect(allowed(u, { SOPS_HC_VAULT_ALLOWLIST: 'none' })).toBe(false)
    expect(allowed(u, { SOPS_HC_VAULT_ALLOWLIST: 'https://other, https://vault.corp:8200/' })).toBe(true)
    expect(allowed(u, { SOPS_HC_VAULT_ALLOWLIST: 'https://vault.corp.evil' })).toBe(false)
  })
})

describe('wrap and unwrap against the loopback Vault', () => {
  it('round-trips; the entry has exactly sops\'s fields and enc is Vault\'s ciphertext verbatim', async () => {
    const key = dataKey()
    const entry = await writtenEntry(fromSpec(uri()), key, ctxFor())
    expect(entry.type).toBe('hc_vault')
    expect(Object.keys(entry.fields).sort()).toEqual(['created_at', 'enc', 'engine_path', 'key_name', 'vault_address'])
    expect(entry.fields).toMatchObject({ engine_path: 'transit', key_name: 'sops', vault_address: vault.url })
    expect(entry.fields.enc).toMatch(/^vault:v1:[A-Za-z0-9+/]+={0,2}$/)
    expect(entry.fields.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const back = await fromEntry(entry).unwrap(entry, ctxFor())
    expect(Buffer.from(back).equals(Buffer.from(key))).toBe(true)
    expect(vault.log.map((l) => [l.method, l.path, l.status])).toEqual([
      ['PUT', '/v1/transit/encrypt/sops', 200],
      ['PUT', '/v1/transit/decrypt/sops', 200],
    ])
  })

  it('engine paths with slashes', async () => {
    const entry = await fromSpec(uri('secret/team/transit', 'nested')).wrap(dataKey(), ctxFor())
    expect(entry.fields.engine_path).toBe('secret/team/transit')
    await fromEntry(entry).unwrap(entry, ctxFor())
    expect(vault.log.map((l) => l.path)).toEqual(['/v1/secret/team/transit/encrypt/nested', '/v1/secret/team/transit/decrypt/nested'])
  })

  it('the token comes from ~/.vault-token (trimmed) when VAULT_TOKEN is unset', async () => {
    const home = fs.mkdtempSync(path.join(dir, 'home-'))
    fs.writeFileSync(path.join(home, '.vault-token'), `  ${VAULT_ROOT_TOKEN}\n`)
    await expect(fromSpec(uri()).wrap(dataKey(), { env: { HOME: home } })).resolves.toBeDefined()
    // VAULT_TOKEN wins over the file.
    await expect(fromSpec(uri()).wrap(dataKey(), { env: { HOME: home, VAULT_TOKEN: 'hvs.wrong' } })).rejects.toThrow(/permission denied/)
    // No token at all: sent without one, as sops does; Vault says no.
    await expect(fromSpec(uri()).wrap(dataKey(), { env: { HOME: path.join(dir, 'nowhere') } })).rejects.toThrow(/Code: 403\. Errors:\n\n\* permission denied/)
    expect(vault.log.at(-1)?.tokenSent).toBe(false)
  })

  it('with envOnly (library inheritEnv: false), ~/.vault-token is read only from a HOME the env gives', async () => {
    const home = fs.mkdtempSync(path.join(dir, 'home-'))
    fs.writeFileSync(path.join(home, '.vault-token'), `${VAULT_ROOT_TOKEN}\n`)
    const processHome = process.env.HOME
    process.env.HOME = home // what os.homedir() would answer
    try {
      // No HOME in env: the process's ~/.vault-token is not read, so the request goes out without a token (as sops sends it).
      await expect(fromSpec(uri()).wrap(dataKey(), { env: {}, envOnly: true })).rejects.toThrow(/Code: 403\. Errors:\n\n\* permission denied/)
      expect(vault.log.at(-1)?.tokenSent).toBe(false)
      await expect(fromSpec(uri()).wrap(dataKey(), { env: { HOME: home }, envOnly: true })).resolves.toBeDefined()
    } finally {
      process.env.HOME = processHome
    }
  })

  it('VAULT_NAMESPACE is sent as X-Vault-Namespace', async () => {
    const nsUri = uri('team-transit', 'ns-key')
    await expect(fromSpec(nsUri).wrap(dataKey(), ctxFor())).rejects.toThrow(
      `failed to encrypt sops data key to Vault transit backend 'team-transit/encrypt/ns-key': Error making API request.\n\nURL: PUT ${vault.url}/v1/team-transit/encrypt/ns-key\nCode: 404. Errors:\n\n* no handler for route`,
    )
    const entry = await fromSpec(nsUri).wrap(dataKey(), ctxFor({ VAULT_NAMESPACE: 'team-a' }))
    await fromEntry(entry).unwrap(entry, ctxFor({ VAULT_NAMESPACE: 'team-a' }))
    expect(vault.log.map((l) => l.namespace)).toEqual([undefined, 'team-a', 'team-a'])
  })

  it('403: permission denied, with the path the policy must allow', async () => {
    vault.tokens.set('hvs.encrypt-only', { paths: ['transit/encrypt/'] })
    const entry = await fromSpec(uri()).wrap(dataKey(), ctxFor({ VAULT_TOKEN: 'hvs.encrypt-only' }))
    const err = (await fromEntry(entry).unwrap(entry, ctxFor({ VAULT_TOKEN: 'hvs.encrypt-only' })).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err).toBeInstanceOf(KeyUnwrapError)
    expect(err.keyId).toBe(uri())
    expect(err.reason).toMatch(/^failed to decrypt sops data key from Vault transit backend 'transit\/decrypt\/sops': Error making API request\.\n\nURL: PUT .*\nCode: 403/)
    const wrapErr = (await fromSpec(uri()).wrap(dataKey(), ctxFor({ VAULT_TOKEN: 'hvs.unknown' })).catch((e: unknown) => e)) as Error & { hint?: string }
    // The Vault client's words, its missing newline between errors included.
    expect(wrapErr.message).toBe(
      `failed to encrypt sops data key to Vault transit backend 'transit/encrypt/sops': Error making API request.\n\nURL: PUT ${vault.url}/v1/transit/encrypt/sops\nCode: 403. Errors:\n\n* permission denied* invalid token`,
    )
    expect(wrapErr.hint).toMatch(/transit\/encrypt\/sops/)
    expect(wrapErr.message).not.toContain('hvs.unknown')
  })

  it('400: the wrong transit key cannot decrypt', async () => {
    const entry = await fromSpec(uri()).wrap(dataKey(), ctxFor())
    const moved: KeyEntry = { type: 'hc_vault', fields: { ...entry.fields, key_name: 'other' } }
    const err = (await fromEntry(moved).unwrap(moved, ctxFor()).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err.reason).toBe(
      `failed to decrypt sops data key from Vault transit backend 'transit/decrypt/other': Error making API request.\n\nURL: PUT ${vault.url}/v1/transit/decrypt/other\nCode: 400. Errors:\n\n* cipher: message authentication failed`,
    )
  })

  it('retries a sealed/unavailable Vault, then gives up with Vault\'s message', async () => {
    vault.state.unavailable = 2
    await expect(fromSpec(uri()).wrap(dataKey(), ctxFor())).resolves.toBeDefined()
    expect(vault.log.map((l) => l.status)).toEqual([503, 503, 200])
    vault.log.length = 0
    vault.state.unavailable = 100
    await expect(fromSpec(uri()).wrap(dataKey(), ctxFor())).rejects.toThrow(/^failed to encrypt sops data key to Vault transit backend 'transit\/encrypt\/sops': Error making API request\.[^]*Code: 503\. Errors:\n\n\* Vault is sealed$/)
    expect(vault.log).toHaveLength(3)
  })

  it('an unreachable Vault fails, naming the key', async () => {
    const dead = `${await closedPortUrl()}/v1/transit/keys/sops`
    const wrapErr = (await wrapDataKey(dataKey(), [[fromSpec(dead)]], 0, ctxFor()).catch((e: unknown) => e)) as Error
    expect(wrapErr.message).toContain(JSON.stringify(dead))
    const refused = /Put "http:\/\/127\.0\.0\.1:(\d+)\/v1\/transit\/(en|de)crypt\/sops": dial tcp 127\.0\.0\.1:\1: connect: connection refused/
    expect(wrapErr.message).toMatch(refused)
    const entry: KeyEntry = { type: 'hc_vault', fields: { ...parsedFields(dead), created_at: '2024-01-01T00:00:00Z', enc: 'vault:v1:AAAA' } }
    const unwrapErr = (await unwrapDataKey([[entry]], 0, ctxFor()).catch((e: unknown) => e)) as Error
    expect(unwrapErr.message).toContain(`${dead}: FAILED`)
    expect(unwrapped(unwrapErr.message)).toMatch(refused)
  })

  it('the allow list keeps the token from servers not on it', async () => {
    const entry = await fromSpec(uri()).wrap(dataKey(), ctxFor())
    vault.log.length = 0
    const err = (await fromEntry(entry).unwrap(entry, ctxFor({ SOPS_HC_VAULT_ALLOWLIST: 'https://vault.corp/' })).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err.reason).toBe(`Allowlist does not allow ${vault.url}`) // sops's words, unwrapped
    await expect(fromSpec(uri()).wrap(dataKey(), ctxFor({ SOPS_HC_VAULT_ALLOWLIST: 'none' }))).rejects.toThrow(`Allowlist does not allow ${vault.url}`)
    await expect(fromSpec(uri()).wrap(dataKey(), ctxFor({ SOPS_HC_VAULT_ALLOWLIST: 'https://a, ' }))).rejects.toThrow("SOPS_HC_VAULT_ALLOWLIST's entry 2 is empty")
    expect(vault.log).toHaveLength(0) // nothing was sent
    await expect(fromEntry(entry).unwrap(entry, ctxFor({ SOPS_HC_VAULT_ALLOWLIST: `https://vault.corp/, ${vault.url}` }))).resolves.toBeDefined()
  })

  it('follows a standby node\'s redirect to an allowed server only', async () => {
    standby.state.redirectTo = vault.url
    const viaStandby = `${standby.url}/v1/transit/keys/sops`
    const entry = await fromSpec(viaStandby).wrap(dataKey(), ctxFor())
    expect(entry.fields.vault_address).toBe(standby.url)
    expect(standby.log.map((l) => l.status)).toEqual([307])
    expect(vault.log.map((l) => [l.path, l.status, l.tokenSent])).toEqual([['/v1/transit/encrypt/sops', 200, true]])
    vault.log.length = 0
    await expect(fromSpec(viaStandby).wrap(dataKey(), ctxFor({ SOPS_HC_VAULT_ALLOWLIST: standby.url }))).rejects.toThrow(
      `Vault redirected to ${vault.url}, which is not allowed by SOPS_HC_VAULT_ALLOWLIST`,
    )
    expect(vault.log).toHaveLength(0)
  })
})

describe('CLI end to end', () => {
  it('tsops encrypt --hc-vault-transit <uri>, then decrypt', async () => {
    const plain = 'api:\n    token: s3cr3t\n'
    const file = path.join(dir, 'v.yaml')
    fs.writeFileSync(file, plain)
    const env = cleanEnv({ HOME: dir, VAULT_TOKEN: VAULT_ROOT_TOKEN })
    const enc = await runCli(['encrypt', '--hc-vault-transit', uri('secret/team/transit', 'nested'), file], { env, cwd: dir })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const text = enc.stdout.toString()
    const meta = (parseYaml(text) as { sops: { hc_vault: Record<string, unknown>[] } }).sops
    expect(Object.keys(meta.hc_vault[0]!)).toEqual(['created_at', 'enc', 'engine_path', 'key_name', 'vault_address'])
    expect(meta.hc_vault[0]).toMatchObject({ engine_path: 'secret/team/transit', key_name: 'nested', vault_address: vault.url })
    fs.writeFileSync(file, text)
    const dec = await runCli(['decrypt', file], { env, cwd: dir })
    expect(dec.stderr).toBe('')
    expect(dec.code).toBe(0)
    expect(dec.stdout.toString()).toBe(plain)
  })
})

function parsedFields(u: string): Record<string, string> {
  const k = parseVaultUri(u)
  return { vault_address: k.vaultAddress, engine_path: k.enginePath, key_name: k.keyName }
}
