/**
 * helm-secrets's exact command lines (see test/integrations/sops-bin.ts HELM), run against the
 * `sops`-named bin/sops entry on files written by real sops (../shared/interop: PGP fixture keys
 * and the sops-age identity), and a tsops-encrypted binary file checked by real sops (oracle).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { INTEROP, ORACLE } from '../helpers/paths.js'
import { runCli } from '../helpers/cli.js'
import { fixtureGpgHome, FIXTURE_KEYS, type GpgHome } from '../helpers/gpg.js'
import { GREP_BINARY, GREP_ENCRYPTED, HELM, envWithSops, makeSopsBin, sh, type SopsBin } from '../integrations/sops-bin.js'

let gpg: GpgHome
let bin: SopsBin
let work: string
beforeAll(async () => {
  gpg = await fixtureGpgHome()
  bin = makeSopsBin()
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-helm-interop-'))
})
afterAll(async () => {
  await gpg?.cleanup()
  bin?.cleanup()
  fs.rmSync(work, { recursive: true, force: true })
})

const env = () => envWithSops(bin, { GNUPGHOME: gpg.home, SOPS_AGE_KEY_FILE: path.join(INTEROP, 'sops-age/key.txt'), XDG_CONFIG_HOME: path.join(work, 'xdg') })

/** helm-secrets's `_sops_enc_get_type`: the extension, anything unknown is binary. */
function typeOf(file: string): string {
  const ext = path.extname(file).slice(1)
  return { yaml: 'yaml', yml: 'yaml', json: 'json', env: 'dotenv', ini: 'ini' }[ext] ?? 'binary'
}

const FILES = ['sops', 'sops-age'].flatMap((d) =>
  fs
    .readdirSync(path.join(INTEROP, d))
    .filter((f) => fs.existsSync(path.join(INTEROP, d, `${f}.dec`)))
    .map((f) => path.join(d, f)),
)

/**
 * sops logs a warning for each comment a file holds in the clear (files of sops before 3.x);
 * helm-secrets merges stderr into the output, with real sops as with tsops run as `sops`.
 */
const UNENCRYPTED_COMMENT_WARNING = /^\[SOPS\]\t time="[^"]+" level=warning msg="Found possibly unencrypted comment in file\. [^\n]*\n/gm

async function ok(script: string, args: string[]): Promise<Buffer> {
  const r = await sh(script, args, { env: env(), cwd: work })
  expect(r.stderr).toBe('')
  expect(r.code, r.stdout.toString()).toBe(0)
  const text = r.stdout.toString('latin1')
  return text.search(UNENCRYPTED_COMMENT_WARNING) === 0 ? Buffer.from(text.replace(UNENCRYPTED_COMMENT_WARNING, ''), 'latin1') : r.stdout
}

describe('helm-secrets command lines on files written by real sops', () => {
  it('finds the interop files, every format among them', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(15)
    expect(new Set(FILES.map(typeOf))).toEqual(new Set(['yaml', 'json', 'dotenv', 'ini', 'binary']))
  })

  it.each(FILES)('%s: detected as encrypted; decrypts byte-exact to stdout, --output and --in-place', async (rel) => {
    const source = path.join(INTEROP, rel)
    const expected = fs.readFileSync(`${source}.dec`)
    const type = typeOf(rel)
    expect((await sh(GREP_ENCRYPTED, [source], { env: env() })).code).toBe(0)
    expect((await ok(HELM.decryptStdout, [type, source])).equals(expected)).toBe(true)
    const out = path.join(work, `${rel.replace('/', '-')}.out`)
    expect((await ok(HELM.decryptOutput, [type, source, out])).length).toBe(0)
    expect(fs.readFileSync(out).equals(expected)).toBe(true)
    const copy = path.join(work, `${rel.replace('/', '-')}.copy`)
    fs.copyFileSync(source, copy)
    fs.chmodSync(copy, 0o600)
    expect((await ok(HELM.decryptInPlace, [type, copy])).length).toBe(0)
    expect(fs.readFileSync(copy).equals(expected)).toBe(true)
  })

  it('guesses yaml, json and binary for real sops files as helm-secrets does', async () => {
    expect((await ok(HELM.detectType, [path.join(INTEROP, 'sops/example.yaml')])).toString()).toBe('yaml\n')
    expect((await ok(HELM.detectType, [path.join(INTEROP, 'sops/example.json')])).toString()).toBe('json\n')
    expect((await ok(HELM.detectType, [path.join(INTEROP, 'sops/example.txt')])).toString()).toBe('binary\n')
    expect((await sh(GREP_BINARY, [path.join(INTEROP, 'sops/example.txt')], { env: env() })).code).toBe(0)
  })

  it.each(['sops/example.json', 'sops/secret.enc.json'])('%s piped to /dev/stdin (decrypt_literal) decrypts byte-exact', async (rel) => {
    const text = fs.readFileSync(path.join(INTEROP, rel), 'utf8')
    const expected = fs.readFileSync(path.join(INTEROP, `${rel}.dec`))
    expect((await ok(HELM.decryptLiteral, [text])).equals(expected)).toBe(true)
  })

  it('a binary file ending in several newlines, encrypted by the helm-secrets line, decrypts byte-exact with tsops and real sops', async () => {
    const plain = Buffer.from('user=admin\npassword=hunter2\n\n\n\n')
    const file = path.join(work, 'app.properties')
    fs.writeFileSync(file, plain)
    const encryptEnv = { ...env(), SOPS_PGP_FP: FIXTURE_KEYS.key1 }
    const r = await sh(HELM.encryptInPlace, ['binary', file], { env: encryptEnv, cwd: work })
    expect(r.stdout.toString()).toBe('')
    expect(r.code).toBe(0)
    expect((await sh(GREP_BINARY, [file], { env: env() })).code).toBe(0)
    expect((await sh(GREP_ENCRYPTED, [file], { env: env() })).code).toBe(0)
    expect((await ok(HELM.decryptStdout, ['binary', file])).equals(plain)).toBe(true)
    const real = await runCli([file, 'binary'], { env: env(), command: [process.execPath, ORACLE] })
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    expect(real.stdout.equals(plain)).toBe(true)
  })
})
