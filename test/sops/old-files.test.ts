// Files that old and current sops versions wrote (../shared/interop): real sops 3.13.2 and tsops
// decrypt each to the same bytes, with the same exit code and stderr — also with every other
// output type, --extract of each top-level key, and --ignore-mac.
import { afterAll, beforeAll, describe, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { parse } from 'yaml'
import { INTEROP } from '../helpers/paths.js'
import { fixtureGpgHome, type GpgHome } from '../helpers/gpg.js'
import { cleanupTwins, expectSame, twin } from './harness.js'

let gpg: GpgHome
beforeAll(async () => {
  gpg = await fixtureGpgHome()
})
afterAll(async () => {
  cleanupTwins()
  await gpg?.cleanup()
})

const PGP_FILES = fs
  .readdirSync(path.join(INTEROP, 'sops'))
  .filter((f) => !f.endsWith('.dec') && !f.endsWith('.asc'))
  .sort()

function keyEnv(dir: 'sops' | 'sops-age'): Record<string, string> {
  return dir === 'sops' ? { GNUPGHOME: gpg.home } : { SOPS_AGE_KEY_FILE: path.join(INTEROP, 'sops-age', 'key.txt') }
}

const CASES: [string, string][] = [...PGP_FILES.map((f): [string, string] => ['sops', f]), ['sops-age', 'secrets.age.yaml']]

/** Top-level keys of a decrypted file, for --extract (YAML and JSON only). */
function topKeys(dir: string, name: string): string[] {
  const dec = path.join(INTEROP, dir, `${name}.dec`)
  if (!fs.existsSync(dec) || !/\.(ya?ml|json)$/.test(name)) return []
  const value = parse(fs.readFileSync(dec, 'utf8')) as unknown
  return value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value).slice(0, 4) : []
}

describe.each(CASES)('%s/%s', (dir, name) => {
  const files = () => ({ [name]: fs.readFileSync(path.join(INTEROP, dir, name)) })
  const env = () => keyEnv(dir as 'sops' | 'sops-age')

  it('decrypt, --ignore-mac', async () => {
    expectSame(await twin(['decrypt', name], { files: files(), env: env() }), {}, `old file ${dir}/${name}`)
    expectSame(await twin(['decrypt', '--ignore-mac', name], { files: files(), env: env() }), {}, `old file ${dir}/${name} --ignore-mac`)
  })

  it.each(['yaml', 'json', 'dotenv', 'ini'])('decrypt --output-type %s', async (type) => {
    expectSame(await twin(['decrypt', '--output-type', type, name], { files: files(), env: env() }), {}, `old file ${dir}/${name} --output-type ${type}`)
  })

  it('--extract of each top-level key', async () => {
    for (const k of topKeys(dir, name)) {
      expectSame(await twin(['decrypt', '--extract', `["${k}"]`, name], { files: files(), env: env() }), {}, `old file ${dir}/${name} --extract ${k}`)
    }
  })
})
