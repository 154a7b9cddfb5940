/**
 * A comment's ciphertext copied into a value (issue 16.2). A comment's AAD is its container's
 * path, so the top-level `#ENC[…,type:comment]` also authenticates as the value of a new
 * top-level key `""`. sops 3.13.2 hashes a value that decrypts to a comment, so the MAC fails
 * (exit 51); tsops must too: no Comment object handed out, no TypeError.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes, createHash } from 'node:crypto'
import { decrypt, decryptFile, encrypt, MacMismatchError } from '../../src/index.js'
import { Comment, TreeMap } from '../../src/core/tree.js'
import { ValueCipher } from '../../src/core/cipher.js'
import { LeafSelector } from '../../src/core/rules.js'
import { decryptBranches } from '../../src/core/walk.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-comment-value-')
let age: { identity: string; recipient: string }
let tampered: string

const PLAIN = '# top comment\ndb:\n    password: hunter2\n'

/** The encrypted file with its first line, the top-level comment, copied into `"": ENC[…]`. */
function copyCommentIntoValue(encrypted: string): string {
  const comment = /^#(ENC\[AES256_GCM,[^\]]*type:comment\])$/m.exec(encrypted)
  if (!comment) throw new Error('fixture has no top-level encrypted comment')
  return `"": ${comment[1]}\n${encrypted}`
}

beforeAll(async () => {
  age = await testAgeIdentity()
  const encrypted = await encrypt(PLAIN, { format: 'yaml', age: [age.recipient], inheritEnv: false })
  tampered = path.join(dir, 'tampered.yaml')
  fs.writeFileSync(tampered, copyCommentIntoValue(encrypted))
  fs.writeFileSync(path.join(dir, 'good.yaml'), encrypted)
})

const options = () => ({ inheritEnv: false as const, ageIdentities: [age.identity] })

describe('a comment copied into a value', () => {
  it('the untouched file decrypts, comment included', async () => {
    const text = await decryptFile(path.join(dir, 'good.yaml'), { ...options(), output: 'text' })
    expect(text).toBe(PLAIN)
  })

  it('the library throws its MAC error, never a Comment object', async () => {
    await expect(decryptFile(tampered, options())).rejects.toThrow(MacMismatchError)
    await expect(decrypt(fs.readFileSync(tampered, 'utf8'), { ...options(), format: 'yaml' })).rejects.toThrow(/MAC mismatch/)
  })

  it('with the MAC ignored, the value is the string it holds', async () => {
    const values = (await decryptFile(tampered, { ...options(), ignoreMac: true })) as Record<string, unknown>
    expect(values['']).toBe(' top comment')
  })

  it('the CLI exits 51 with sops\'s MAC message', async () => {
    const r = await runCli(['decrypt', tampered], { env: cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') }) })
    expect(r.stdout.toString()).toBe('')
    expect(r.stderr).toMatch(/MAC mismatch/)
    expect(r.stderr).not.toMatch(/TypeError|at .*\.js:\d+/)
    expect(r.code).toBe(51)
  })

  it('the walk hashes such a map value as its text, as sops 3.13.2 does', () => {
    const key = randomBytes(32)
    const cipher = new ValueCipher(key)
    const tree = new TreeMap([{ key: '', value: cipher.encrypt(new Comment(' c'), ':') }, { key: 'a', value: cipher.encrypt('x', 'a:') }])
    const mac = decryptBranches([tree], new ValueCipher(key), new LeafSelector({}))
    expect(tree.get('')).toBe(' c')
    expect(mac).toBe(createHash('sha512').update(' c').update('x').digest('hex').toUpperCase())
  })
})
