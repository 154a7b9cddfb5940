// Post-quantum age keys (age1pq1… / AGE-SECRET-KEY-PQ-1…, ML-KEM-768 + X25519) from the real
// `age-keygen -pq`: tsops wraps what the real age decrypts and unwraps what it encrypts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ageKeySource } from '../../src/keys/age.js'
import { ageBin, armorBody, runTool } from '../helpers/age-tools.js'

let dir: string
let keyFile: string
let recipient: string

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-age-pq-')))
  keyFile = path.join(dir, 'pq.txt')
  runTool(ageBin('age-keygen'), ['-pq', '-o', keyFile])
  recipient = runTool(ageBin('age-keygen'), ['-y', keyFile]).toString().trim()
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('age1pq1 (age-keygen -pq)', () => {
  it('is a hybrid recipient', () => {
    expect(recipient).toMatch(/^age1pq1[0-9a-z]{1900,}$/)
  })

  it('tsops wraps a data key that the real age decrypts', async () => {
    const dataKey = randomBytes(32)
    const entry = await ageKeySource(recipient).wrap(dataKey, { env: {} })
    expect(armorBody(entry.fields.enc as string).toString('latin1')).toContain('\n-> mlkem768x25519 ')
    expect(runTool(ageBin(), ['-d', '-i', keyFile], { input: entry.fields.enc as string })).toEqual(dataKey)
  })

  it('tsops unwraps what the real age encrypted, with the key file or SOPS_AGE_KEY', async () => {
    const dataKey = randomBytes(32)
    const enc = runTool(ageBin(), ['-a', '-r', recipient], { input: dataKey }).toString()
    const entry = { type: 'age' as const, fields: { recipient, enc } }
    expect(Buffer.from(await ageKeySource(recipient).unwrap(entry, { env: { HOME: dir, SOPS_AGE_KEY_FILE: keyFile } }))).toEqual(dataKey)
    const identity = fs.readFileSync(keyFile, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-PQ-1'))!
    expect(Buffer.from(await ageKeySource(recipient).unwrap(entry, { env: { HOME: dir, SOPS_AGE_KEY: identity } }))).toEqual(dataKey)
  })
})
