// Both directions for every format sops has: tsops writes what sops writes (masked layout) and
// each decrypts the other's files; decrypt options give the same bytes and exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanupTwins, crossDecrypt, expectSame, maskPaths, recordDocumented, realAgeKey, run, baseEnv, realSops, twin, type AgeKey } from './harness.js'
import { extOf, SAMPLES, type Sample } from './samples.js'

let key: AgeKey
/** Each sample encrypted once by real sops: the input of the decrypt cases. */
const bySops = new Map<string, Buffer>()

beforeAll(async () => {
  key = await realAgeKey()
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-diff-fmt-')))
  try {
    for (const s of SAMPLES) {
      const input = path.join(dir, s.name)
      fs.writeFileSync(input, s.content)
      const r = await run(realSops(), ['encrypt', '--age', key.recipient, input], { cwd: dir, env: baseEnv(dir) })
      if (r.code !== 0) throw new Error(`sops could not encrypt ${s.name}: ${r.stderr}`)
      bySops.set(s.name, r.stdout)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
afterAll(cleanupTwins)

const keyEnv = () => ({ SOPS_AGE_KEY_FILE: key.file })
const encName = (s: Sample) => `enc.${extOf(s.format)}`
const encrypted = (s: Sample) => ({ [encName(s)]: bySops.get(s.name)! })

describe.each(SAMPLES)('$name', (sample) => {
  it('encrypt: the same file as sops (masked), and each decrypts the other', async () => {
    const t = await twin(['encrypt', '--age', key.recipient, '--output', encName(sample), sample.name], { files: { [sample.name]: sample.content }, env: keyEnv() })
    expectSame(t, { encryptedFiles: true }, `encrypt ${sample.name}`)
    await crossDecrypt(t, encName(sample))
  })

  it('encrypt to stdout and in place', async () => {
    const files = { [sample.name]: sample.content }
    expectSame(await twin(['encrypt', '--age', key.recipient, sample.name], { files, env: keyEnv() }), { encryptedStdout: true }, `encrypt stdout ${sample.name}`)
    const t = await twin(['encrypt', '-i', '--age', key.recipient, sample.name], { files, env: keyEnv() })
    expectSame(t, { encryptedFiles: true }, `encrypt -i ${sample.name}`)
    await crossDecrypt(t, sample.name)
  })

  it('encrypt from stdin (--filename-override, --input-type)', async () => {
    const args = ['encrypt', '--age', key.recipient]
    const input = sample.content
    expectSame(await twin([...args, '--filename-override', sample.name], { input, env: keyEnv() }), { encryptedStdout: true }, `encrypt stdin override ${sample.name}`)
    expectSame(await twin([...args, '--input-type', sample.format, '--output-type', sample.format, '/dev/stdin'], { input, env: keyEnv() }), { encryptedStdout: true }, `encrypt /dev/stdin ${sample.name}`)
  })

  it('decrypt: stdout, --output, -i', async () => {
    const files = encrypted(sample)
    expectSame(await twin(['decrypt', encName(sample)], { files, env: keyEnv() }), {}, `decrypt ${sample.name}`)
    expectSame(await twin(['decrypt', '--output', 'plain.out', encName(sample)], { files, env: keyEnv() }), {}, `decrypt --output ${sample.name}`)
    expectSame(await twin(['decrypt', '-i', encName(sample)], { files, env: keyEnv() }), {}, `decrypt -i ${sample.name}`)
  })

  it('decrypt from stdin (no file, -, /dev/stdin; --input-type, --filename-override)', async () => {
    const input = bySops.get(sample.name)!
    const typed = ['--input-type', sample.format, '--output-type', sample.format]
    for (const args of [typed, [...typed, '/dev/stdin'], ['--filename-override', encName(sample)], ['--filename-override', encName(sample), '/dev/stdin']]) {
      expectSame(await twin(['decrypt', ...args], { input, env: keyEnv() }), {}, `decrypt stdin ${args.join(' ')} ${sample.name}`)
    }
  })

  it('documented difference: `-` is standard input for tsops, a file name for sops', async () => {
    const input = bySops.get(sample.name)!
    const t = await twin(['decrypt', '--input-type', sample.format, '--output-type', sample.format, '-'], { input, env: keyEnv() })
    expect(t.real.code).toBe(100)
    expect(maskPaths(t.real.stderr, t.real, t.root)).toBe('Error: cannot operate on non-existent file "$DIR/-"\n')
    const plain = await twin(['decrypt', '--input-type', sample.format, '--output-type', sample.format, '/dev/stdin'], { input, env: keyEnv() })
    expect(t.ours.code).toBe(0)
    expect(t.ours.stdout.equals(plain.real.stdout)).toBe(true)
    recordDocumented(`decrypt - ${sample.name}`)
  })

  it.each(['yaml', 'json', 'dotenv', 'ini', 'binary'])('decrypt --output-type %s', async (to) => {
    expectSame(await twin(['decrypt', '--output-type', to, encName(sample)], { files: encrypted(sample), env: keyEnv() }), {}, `decrypt ${sample.name} --output-type ${to}`)
  })

  // --indent is one of sops's global flags: it goes before the command.
  it.each(['0', '2', '3', '8'])('--indent %s decrypt, --indent %s encrypt', async (indent) => {
    expectSame(await twin(['--indent', indent, 'decrypt', encName(sample)], { files: encrypted(sample), env: keyEnv() }), {}, `--indent ${indent} decrypt ${sample.name}`)
    const files = { [sample.name]: sample.content }
    expectSame(await twin(['--indent', indent, 'encrypt', '--age', key.recipient, sample.name], { files, env: keyEnv() }), { encryptedStdout: true }, `--indent ${indent} encrypt ${sample.name}`)
  })

  it('decrypt --ignore-mac of a file with a tampered MAC', async () => {
    const tampered = tamperMac(bySops.get(sample.name)!)
    const files = { [encName(sample)]: tampered }
    expectSame(await twin(['decrypt', encName(sample)], { files, env: keyEnv() }), {}, `decrypt tampered ${sample.name}`)
    expectSame(await twin(['decrypt', '--ignore-mac', encName(sample)], { files, env: keyEnv() }), {}, `decrypt --ignore-mac ${sample.name}`)
  })
})

/**
 * Swap two characters inside the MAC's ciphertext: the MAC no longer decrypts (a tampered MAC),
 * while every value still does.
 */
function tamperMac(file: Buffer): Buffer {
  const text = file.toString('utf8')
  const swapped = text.replace(/(mac["']?\s*[:=]\s*"?ENC\[AES256_GCM,data:)(.)(.)/, (_, pre: string, a: string, b: string) => `${pre}${a === b ? (a === 'A' ? 'B' : 'A') : b}${a}`)
  if (swapped === text) throw new Error('no MAC to tamper with')
  return Buffer.from(swapped)
}

describe('--extract', () => {
  const cases: [string, string][] = [
    ['rich.yaml', '["name"]'],
    ['rich.yaml', '["nested"]'],
    ['rich.yaml', '["nested"]["deep"]["key"]'],
    ['rich.yaml', '["list"][1]'],
    ['rich.yaml', '["list"]'],
    ['rich.yaml', '["multi"]'],
    ['rich.yaml', '["when"]'],
    ['rich.yaml', '["big"]'],
    ['rich.yaml', '["nothing"]'],
    ['rich.yaml', '["missing"]'],
    ['rich.yaml', '["list"][9]'],
    ['rich.yaml', 'not-a-path'],
    ['rich.json', '["l"][2]'],
    ['rich.json', '["l"]'],
    ['rich.json', '["huge_int"]'],
    ['rich.json', '["u"]'],
    ['rich.json', '["l"][2]["k"]'],
    ['rich.env', '["B"]'],
    ['rich.ini', '["database"]'],
    ['rich.ini', '["database"]["host"]'],
  ]
  it.each(cases)('%s %s', async (name, extract) => {
    const sample = SAMPLES.find((s) => s.name === name)!
    expectSame(await twin(['decrypt', '--extract', extract, encName(sample)], { files: encrypted(sample), env: keyEnv() }), {}, `decrypt ${name} --extract ${extract}`)
    expectSame(await twin(['decrypt', '--extract', extract, '--output-type', 'json', encName(sample)], { files: encrypted(sample), env: keyEnv() }), {}, `decrypt ${name} --extract ${extract} --output-type json`)
  })
})
