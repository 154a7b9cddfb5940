// Flags sops's encrypt and edit subcommands never read (the comment regexes; rule flags before
// the command word): tsops ignores them as sops does, and says so when run as `tsops` (run as
// `sops` it stays silent; test/sops/commands.test.ts compares that against real sops).
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-ignored-flags-')
let age: { identity: string; recipient: string }
const env = () => cleanEnv({ SOPS_AGE_KEY: age.identity })

beforeAll(async () => {
  age = await testAgeIdentity()
  fs.writeFileSync(path.join(dir, 'in.yaml'), 'a: 1 # secret\nb_u: 2\n')
})

describe('flags the encrypt subcommand ignores, as sops does', () => {
  it('--encrypted-comment-regex: ignored by `encrypt` with a note, honoured by the legacy -e', async () => {
    const sub = await runCli(['--encrypted-comment-regex', 'secret', 'encrypt', '--age', age.recipient, 'in.yaml'], { env: env(), cwd: dir })
    expect(sub.code).toBe(0)
    expect(sub.stderr).toBe(
      "tsops: warning: --encrypted-comment-regex is ignored by the encrypt subcommand, as sops ignores it there; put encrypted_comment_regex in a .sops.yaml creation rule, or give it after the command word (comment regexes: the legacy form, tsops --encrypted-comment-regex RE -e FILE)\n",
    )
    expect(sub.stdout.toString()).not.toContain('encrypted_comment_regex')
    const legacy = await runCli(['--encrypted-comment-regex', 'secret', '-e', '--age', age.recipient, 'in.yaml'], { env: env(), cwd: dir })
    expect(legacy.code).toBe(0)
    expect(legacy.stderr).toBe('')
    expect(legacy.stdout.toString()).toContain('encrypted_comment_regex: secret')
  })

  it('a rule flag before the command word: ignored with a note; after it, honoured', async () => {
    const before = await runCli(['--unencrypted-suffix', '_u', 'encrypt', '--age', age.recipient, 'in.yaml'], { env: env(), cwd: dir })
    expect(before.code).toBe(0)
    expect(before.stderr).toContain('--unencrypted-suffix is ignored before the encrypt command word')
    expect(before.stdout.toString()).toMatch(/^b_u: ENC\[/m)
    const after = await runCli(['encrypt', '--unencrypted-suffix', '_u', '--age', age.recipient, 'in.yaml'], { env: env(), cwd: dir })
    expect(after.stderr).toBe('')
    expect(after.stdout.toString()).toMatch(/^b_u: 2$/m)
  })
})
