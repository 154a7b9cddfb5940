/**
 * Throw-away GnuPG homes for tests. Nothing is written into the repo: every home lives under
 * os.tmpdir() and is removed (after stopping its gpg-agent) by cleanup().
 *
 *   const gpg = await fixtureGpgHome()         // sops's functional-test keys (needs ../shared)
 *   const gpg = await generatedGpgHome()       // a fresh no-passphrase key, cached per process
 *   ctx = { env: gpg.env }                     // GNUPGHOME set; pass to KeySource wrap/unwrap
 *   afterAll(() => gpg.cleanup())
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { INTEROP } from './paths.js'

const run = promisify(execFile)

/** Keys in ../shared/interop/sops/sops_functional_tests_key.asc (spec §11). */
export const FIXTURE_KEYS = {
  /** Secret key, RSA-2048. */
  key1: 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4',
  /** Secret key, RSA-1024. */
  key2: 'D7229043384BCC60326C6FB9D8720D957C3D3074',
  /** Public key only: good for "no usable key" tests. */
  publicOnly: 'B611A2F9F11D0FF82568805119F9B5DAEA91FF86',
} as const

export const FIXTURE_KEY_FILE = path.join(INTEROP, 'sops', 'sops_functional_tests_key.asc')

export interface GpgHome {
  home: string
  /** process.env with GNUPGHOME pointing at the home. */
  env: Record<string, string | undefined>
  /** Run gpg in this home; returns stdout. */
  gpg(args: string[]): Promise<string>
  cleanup(): Promise<void>
}

/** An empty home (mode 0700: gpg warns about anything wider). Short path: agent sockets live there. */
export async function createGpgHome(): Promise<GpgHome> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'tsops-gpg-'))
  const env = { ...process.env, GNUPGHOME: home }
  // No tty: loopback pinentry lets key generation and imports run without prompting.
  await writeFile(path.join(home, 'gpg-agent.conf'), 'allow-loopback-pinentry\n', { mode: 0o600 })
  const gpg = async (args: string[]) => (await run('gpg', ['--batch', ...args], { env, encoding: 'utf8' })).stdout
  return { home, env, gpg, cleanup: () => removeHome(home, env) }
}

/** Stop the home's own gpg-agent (started by gpg on demand), then delete the directory. */
async function removeHome(home: string, env: Record<string, string | undefined>): Promise<void> {
  await run('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => undefined)
  await rm(home, { recursive: true, force: true, maxRetries: 3 }) // the agent may still be removing its sockets
}

/** A home with sops's fixture keys imported (two secret keys, one public-only). */
export async function fixtureGpgHome(): Promise<GpgHome> {
  const h = await createGpgHome()
  await removeOnFailure(h, () => h.gpg(['--import', FIXTURE_KEY_FILE]))
  return h
}

/** A half-built home must not be left behind in the temp dir. */
async function removeOnFailure<T>(h: GpgHome, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (e) {
    await h.cleanup()
    throw e
  }
}

export interface GeneratedGpgHome extends GpgHome {
  /** Fingerprint of the generated primary key (uppercase, 40 hex). */
  fingerprint: string
}

let generated: Promise<GeneratedGpgHome> | undefined

/**
 * A home with one freshly generated key without passphrase (ed25519 + cv25519: fast to make).
 * Generated once per test process (vitest's forks pool: once per test file); its cleanup() is a
 * no-op so suites sharing it can't break each other. Call disposeGeneratedGpgHome() in afterAll.
 */
export function generatedGpgHome(): Promise<GeneratedGpgHome> {
  generated ??= makeGeneratedHome()
  return generated
}

export async function disposeGeneratedGpgHome(): Promise<void> {
  const pending = generated
  generated = undefined
  const h = await pending?.catch(() => undefined)
  if (h) await removeHome(h.home, h.env)
}

async function makeGeneratedHome(): Promise<GeneratedGpgHome> {
  const h = await createGpgHome()
  const uid = 'tsops test key <tsops-test@example.invalid>'
  const fingerprint = await removeOnFailure(h, async () => {
    await h.gpg(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-gen-key', uid, 'future-default', 'default', 'never'])
    return firstFingerprint(await h.gpg(['--with-colons', '--list-secret-keys', uid]))
  })
  return { ...h, fingerprint, cleanup: async () => undefined }
}

/** The first `fpr` record in --with-colons output (the primary key's). */
export function firstFingerprint(colons: string): string {
  const line = colons.split('\n').find((l) => l.startsWith('fpr:'))
  const fp = line?.split(':')[9]
  if (!fp) throw new Error('no fingerprint in gpg output')
  return fp
}
