// A file no available age identity opens: run as `tsops`, the error is followed by a hint saying
// where identities were looked for and which recipients the file has; run as `sops`, stderr is
// sops's alone.
import { describe, expect, it } from 'vitest'
import path from 'node:path'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { makeSopsBin } from '../integrations/sops-bin.js'

const ws = cliWorkspace('tsops-age-hint-cli-')

describe('no age identity matches', () => {
  it('tsops: the hint names SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, SOPS_AGE_KEY_CMD, keys.txt and the recipients', async () => {
    const file = await ws.encrypted('s.yaml', 'pw: hunter2\n')
    const stranger = await generateAgeIdentity()
    const r = await runCli(['decrypt', file], { env: ws.env({ SOPS_AGE_KEY: stranger.identity }) })
    expect(r.code).toBe(128)
    const hint = /\ntsops: hint: (.*)\n$/.exec(r.stderr)?.[1]
    expect(hint).toBe(
      `tsops looked for age identities in SOPS_AGE_KEY (set), SOPS_AGE_KEY_FILE (not set), SOPS_AGE_KEY_CMD (not set), ${path.join(ws.dir, 'xdg', 'sops', 'age', 'keys.txt')} (missing); none holds the identity of this file's age recipient ${ws.age.recipient}.`,
    )
    expect(r.stderr).not.toContain(stranger.identity)
  })

  it('sops: no hint', async () => {
    const file = await ws.encrypted('t.yaml', 'pw: hunter2\n')
    const bin = makeSopsBin()
    try {
      const r = await runCli(['decrypt', file], { env: ws.env({ SOPS_AGE_KEY: (await generateAgeIdentity()).identity }), command: [path.join(bin.binDir, 'sops')] })
      expect(r.code).toBe(128)
      expect(r.stderr).toMatch(/^Failed to get the data key required to decrypt the SOPS file\./)
      expect(r.stderr).not.toContain('hint')
      expect(r.stderr).not.toContain('looked for')
    } finally {
      bin.cleanup()
    }
  })
})
