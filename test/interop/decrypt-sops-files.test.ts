/**
 * "We read what sops writes": every file in ../shared/interop written by real sops decrypts,
 * through the CLI, to exactly the bytes of its .dec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { INTEROP } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { fixtureGpgHome, type GpgHome } from '../helpers/gpg.js'

let gpg: GpgHome
beforeAll(async () => {
  gpg = await fixtureGpgHome()
})
afterAll(async () => gpg?.cleanup())

const env = () => cleanEnv({ GNUPGHOME: gpg.home, SOPS_AGE_KEY_FILE: path.join(INTEROP, 'sops-age/key.txt') })

const encryptedFiles = ['sops', 'sops-age'].flatMap((dir) =>
  fs
    .readdirSync(path.join(INTEROP, dir))
    .filter((f) => fs.existsSync(path.join(INTEROP, dir, f + '.dec')))
    .map((f) => path.join(dir, f)),
)

describe('decrypting files written by real sops', () => {
  it('finds the interop files', () => {
    expect(encryptedFiles.length).toBeGreaterThanOrEqual(15)
  })

  it.each(encryptedFiles)('%s decrypts to its .dec bytes', async (file) => {
    const result = await runCli(['decrypt', path.join(INTEROP, file)], { env: env() })
    expect(result.stderr).not.toMatch(/error/)
    expect(result.code).toBe(0)
    expect(result.stdout.equals(fs.readFileSync(path.join(INTEROP, file + '.dec')))).toBe(true)
  })

  it('legacy -d and stdin give the same bytes', async () => {
    const file = path.join(INTEROP, 'sops/example.json')
    const legacy = await runCli(['-d', file], { env: env() })
    const stdin = await runCli(['-d', '--input-type', 'json', '--output-type', 'json', '/dev/stdin'], { env: env(), input: fs.readFileSync(file) })
    const expected = fs.readFileSync(file + '.dec')
    expect(legacy.stdout.equals(expected)).toBe(true)
    expect(stdin.code).toBe(0)
    expect(stdin.stdout.equals(expected)).toBe(true)
  })

  it('no_mac.yaml fails with exit 51 and no output; --ignore-mac decrypts it', async () => {
    const file = path.join(INTEROP, 'sops/no_mac.yaml')
    const failed = await runCli(['decrypt', file], { env: env() })
    expect(failed.code).toBe(51)
    expect(failed.stdout.length).toBe(0)
    expect(failed.stderr).toMatch(/MAC mismatch. File has no MAC, computed F7F6C7A0AD0C4C7F/)
    const ignored = await runCli(['decrypt', '--ignore-mac', file], { env: env() })
    expect(ignored.code).toBe(0)
    expect(ignored.stdout.length).toBeGreaterThan(0)
  })

  it('without any usable key: exit 128, each key listed with its reason, no output', async () => {
    const result = await runCli(['decrypt', path.join(INTEROP, 'sops/example.yaml')], { env: cleanEnv({ GNUPGHOME: '/nonexistent-gnupg-home' }) })
    expect(result.code).toBe(128)
    expect(result.stdout.length).toBe(0)
    expect(result.stderr).toContain('FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4')
    expect(result.stderr).toContain('D7229043384BCC60326C6FB9D8720D957C3D3074')
  })
})
