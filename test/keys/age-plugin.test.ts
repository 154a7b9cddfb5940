// age plugins through the plugin protocol, with age v1.3.1's own plugins: age-plugin-tag (an
// age1tag1… recipient is wrapped by the plugin, as sops does), age-plugin-pq (an AGE-PLUGIN-PQ-1…
// identity unwraps a post-quantum file), age-plugin-batchpass (AGE-PLUGIN-BATCHPASS-1… with
// AGE_PASSPHRASE unwraps what `age -j batchpass` encrypted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createECDH, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ageKeySource } from '../../src/keys/age.js'
import { KeyUnwrapError } from '../../src/keys/types.js'
import { ageBin, armorBody, bech32Encode, pluginPath, runTool } from '../helpers/age-tools.js'

let dir: string
let PATH: string
const BATCHPASS_IDENTITY = bech32Encode('AGE-PLUGIN-BATCHPASS-', new Uint8Array()).toUpperCase()

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-age-plugin-')))
  PATH = pluginPath()
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** An age1tag1 recipient: a P-256 public key (compressed), as hardware plugins print them. */
function tagRecipient(): string {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return bech32Encode('age1tag', ecdh.getPublicKey(null, 'compressed'))
}

describe('plugin recipients (age1NAME1…)', () => {
  it('age1tag1 is wrapped by age-plugin-tag into a p256tag stanza that the real age parses', async () => {
    const recipient = tagRecipient()
    const entry = await ageKeySource(recipient).wrap(randomBytes(32), { env: { PATH } })
    const header = armorBody(entry.fields.enc as string).toString('latin1')
    expect(header).toMatch(/^age-encryption\.org\/v1\n-> p256tag [A-Za-z0-9+/]{6} [A-Za-z0-9+/]{87}\n/)
    // The real age reads the header: with an unrelated key it reports no match, not a bad file.
    const key = path.join(dir, 'x.txt')
    runTool(ageBin('age-keygen'), ['-o', key])
    expect(() => runTool(ageBin(), ['-d', '-i', key], { input: entry.fields.enc as string })).toThrow(/no identity matched any of the recipients/)
  })

  it('a plugin missing from PATH fails in age\'s words', async () => {
    const recipient = tagRecipient()
    await expect(ageKeySource(recipient).wrap(randomBytes(32), { env: { PATH: dir } })).rejects.toThrow(
      'failed to create writer for encrypting sops data key with age: failed to wrap key for recipient #0: tag plugin: couldn\'t start plugin: "tag" plugin not found: exec: "age-plugin-tag": executable file not found in $PATH',
    )
  })
})

describe('plugin identities (AGE-PLUGIN-NAME-1…)', () => {
  it('AGE-PLUGIN-PQ-1 (age-plugin-pq -identity) unwraps a file the real age encrypted to age1pq1', async () => {
    const keyFile = path.join(dir, 'pq.txt')
    runTool(ageBin('age-keygen'), ['-pq', '-o', keyFile])
    const recipient = runTool(ageBin('age-keygen'), ['-y', keyFile]).toString().trim()
    const pluginIdentity = runTool('age-plugin-pq', ['-identity', keyFile], { env: { PATH } }).toString().trim()
    expect(pluginIdentity).toMatch(/^AGE-PLUGIN-PQ-1/)
    const dataKey = randomBytes(32)
    const enc = runTool(ageBin(), ['-a', '-r', recipient], { input: dataKey }).toString()
    const got = await ageKeySource(recipient).unwrap({ type: 'age', fields: { recipient, enc } }, { env: { HOME: dir, PATH, SOPS_AGE_KEY: pluginIdentity } })
    expect(Buffer.from(got)).toEqual(dataKey)
    // Handed over explicitly (the library's ageIdentities), it runs the plugin too.
    const explicit = await ageKeySource(recipient).unwrap({ type: 'age', fields: { recipient, enc } }, { env: { HOME: dir, PATH }, ageIdentities: [pluginIdentity] })
    expect(Buffer.from(explicit)).toEqual(dataKey)
  })

  it('AGE-PLUGIN-BATCHPASS-1 unwraps what `age -j batchpass` encrypted; a wrong passphrase is the plugin\'s error', async () => {
    expect(BATCHPASS_IDENTITY).toBe('AGE-PLUGIN-BATCHPASS-1JCS0Q9')
    const dataKey = randomBytes(32)
    const env = { PATH, AGE_PASSPHRASE: 'correct horse battery', AGE_PASSPHRASE_WORK_FACTOR: '10' }
    const enc = runTool(ageBin(), ['-e', '-a', '-j', 'batchpass'], { input: dataKey, env }).toString()
    const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p' // the file's sops recipient: any
    const entry = { type: 'age' as const, fields: { recipient, enc } }
    const got = await ageKeySource(recipient).unwrap(entry, { env: { HOME: dir, ...env, SOPS_AGE_KEY: BATCHPASS_IDENTITY } })
    expect(Buffer.from(got)).toEqual(dataKey)
    const err = (await ageKeySource(recipient).unwrap(entry, { env: { HOME: dir, PATH, AGE_PASSPHRASE: 'wrong', SOPS_AGE_KEY: BATCHPASS_IDENTITY } }).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err).toBeInstanceOf(KeyUnwrapError)
    expect(err.reason).toMatch(/^failed to create reader for decrypting sops data key with age: batchpass plugin: incorrect passphrase\./)
  })
})

describe('the plugin protocol, with a scripted plugin', () => {
  /** An `age-plugin-NAME` shell script that reads the client's phase 1, then prints `reply`. */
  function scriptedPlugin(name: string, reply: string): string {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'))
    const file = path.join(bin, `age-plugin-${name}`)
    fs.writeFileSync(file, `#!/bin/sh\nwhile read -r line; do [ "$line" = "-> done" ] && break; done\nread -r body\nprintf -- '${reply}'\ncat >/dev/null\n`, { mode: 0o755 })
    return bin
  }

  it('an error stanza is the plugin\'s message, prefixed with its name', async () => {
    const bin = scriptedPlugin('scripted', `-> error recipient\\n${Buffer.from('the token is unplugged').toString('base64').replace(/=+$/, '')}\\n`)
    const recipient = bech32Encode('age1scripted', Buffer.from([1, 2, 3]))
    await expect(ageKeySource(recipient).wrap(randomBytes(32), { env: { PATH: `${bin}:/usr/bin:/bin` } })).rejects.toThrow(
      'failed to wrap key for recipient #0: scripted plugin: the token is unplugged',
    )
  })

  it('a message is acknowledged (sops does not print it), then the stanzas are used', async () => {
    const msg = Buffer.from('touch your key').toString('base64').replace(/=+$/, '')
    const body = Buffer.from('wrapped').toString('base64').replace(/=+$/, '')
    const bin = scriptedPlugin('chatty', `-> msg\\n${msg}\\n-> recipient-stanza 0 chatty-type arg1\\n${body}\\n-> done\\n\\n`)
    const recipient = bech32Encode('age1chatty', Buffer.from([4, 5]))
    const entry = await ageKeySource(recipient).wrap(randomBytes(32), { env: { PATH: `${bin}:/usr/bin:/bin` } })
    expect(armorBody(entry.fields.enc as string).toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> chatty-type arg1\nd3JhcHBlZA\n--- /)
  })
})
