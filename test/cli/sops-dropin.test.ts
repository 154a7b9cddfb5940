// The drop-in divergences found by running tsops where sops was expected (issue: prove the
// drop-in promise). Each case was a failure before its fix; the differential tier (test/sops)
// checks the same behaviour against the real sops binary.
import { afterAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { runCli, type CliResult } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { makeSopsBin } from '../integrations/sops-bin.js'

const { dir, age, env, encrypted } = cliWorkspace('tsops-dropin-')
const sopsBin = makeSopsBin()
afterAll(() => sopsBin.cleanup())

/** The CLI started under the name `sops` (bin/sops), as helm-secrets and scripts run it. */
function runAsSops(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runCli(args, { command: [process.execPath, path.join(sopsBin.binDir, 'sops')], cwd: options.cwd ?? dir, env: options.env ?? env() })
}

function project(name: string, config: string): string {
  const root = path.join(dir, name)
  fs.mkdirSync(root)
  fs.writeFileSync(path.join(root, '.sops.yaml'), config)
  return root
}

describe('a .sops.yaml with fields tsops does not know', () => {
  const config = () =>
    `creation_rules:\n  - path_regex: .*\n    age: ${age.recipient}\n    bogus_option: 1\ndestination_rules:\n  - path_regex: x\n    reencryption_rule: {}\n`

  it('still encrypts and decrypts (sops ignores unknown fields); as tsops, a warning names each field', async () => {
    const root = project('unknown-fields', config())
    fs.writeFileSync(path.join(root, 'a.yaml'), 'a: 1\n')
    const enc = await runCli(['encrypt', '-i', 'a.yaml'], { cwd: root, env: env() })
    expect(enc.code).toBe(0)
    expect(enc.stderr).toContain('ignoring unknown field `bogus_option` in creation_rules[0]')
    expect(enc.stderr).toContain('ignoring unknown field `reencryption_rule` in destination_rules[0]')
    const dec = await runCli(['decrypt', 'a.yaml'], { cwd: root, env: env() })
    expect(dec.code).toBe(0)
    expect(dec.stdout.toString()).toBe('a: 1\n')
  })

  it('as sops, prints nothing sops would not print', async () => {
    const root = project('unknown-fields-sops', config())
    fs.writeFileSync(path.join(root, 'a.yaml'), 'a: 1\n')
    const enc = await runAsSops(['encrypt', '-i', 'a.yaml'], { cwd: root })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
  })
})

describe('errors under the name sops', () => {
  it('print the bare message, as sops does; as tsops they keep the prefix and hint', async () => {
    fs.writeFileSync(path.join(dir, 'plain.yaml'), 'a: 1\n')
    const asSops = await runAsSops(['decrypt', 'plain.yaml'])
    expect(asSops.code).toBe(1)
    expect(asSops.stderr).toBe('sops metadata not found\n')
    const asTsops = await runCli(['decrypt', 'plain.yaml'], { cwd: dir, env: env() })
    expect(asTsops.code).toBe(1)
    expect(asTsops.stderr).toMatch(/^tsops: error: sops metadata not found\n/)
  })

  it('keep the exit code and print no hint line', async () => {
    const file = await encrypted('already.yaml', 'a: 1\n')
    const r = await runAsSops(['encrypt', '--age', age.recipient, file])
    expect(r.code).toBe(203)
    expect(r.stderr).not.toMatch(/hint|tsops/)
  })
})

describe('sops subcommand names are never files', () => {
  // A catch-all rule and an editor that saves: before the fix, `tsops help` created a file `help`.
  const editor = (root: string) => {
    const script = path.join(root, 'editor.sh')
    fs.writeFileSync(script, '#!/bin/sh\necho "x: 1" > "$1"\n', { mode: 0o755 })
    return script
  }

  it('keyservice is the key service, never a file: a network it cannot listen on is exit 1, touching nothing', async () => {
    const root = project('word-keyservice', `creation_rules:\n  - age: ${age.recipient}\n`)
    const before = fs.readdirSync(root).sort()
    const r = await runCli(['keyservice', '--network', 'bogus'], { cwd: root, env: env({ EDITOR: editor(root), SOPS_EDITOR: editor(root) }) })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('tsops: error: cannot start the key service: listen bogus: unknown network bogus\n')
    expect(fs.readdirSync(root).sort()).toEqual([...before, 'editor.sh'].sort())
  })

  it('publish without a file is sops\'s "no file specified" (exit 100), touching nothing', async () => {
    const root = project('word-publish', `creation_rules:\n  - age: ${age.recipient}\n`)
    const before = fs.readdirSync(root).sort()
    const r = await runCli(['publish'], { cwd: root, env: env({ EDITOR: editor(root), SOPS_EDITOR: editor(root) }) })
    expect(r.code).toBe(100)
    expect(r.stderr).toContain('Error: no file specified')
    expect(fs.readdirSync(root).sort()).toEqual([...before, 'editor.sh'].sort())
  })

  it('completion prints its usage and exits 0, touching nothing', async () => {
    const root = project('word-completion', `creation_rules:\n  - age: ${age.recipient}\n`)
    const before = fs.readdirSync(root).sort()
    const r = await runCli(['completion'], { cwd: root, env: env({ EDITOR: editor(root), SOPS_EDITOR: editor(root) }) })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toContain('NAME:\n   tsops completion - Generate shell completion scripts')
    expect(fs.readdirSync(root).sort()).toEqual([...before, 'editor.sh'].sort())
  })

  it.each(['help', 'h'])('%s prints the usage and exits 0, touching nothing', async (word) => {
    const root = project(`word-${word}`, `creation_rules:\n  - age: ${age.recipient}\n`)
    const r = await runCli([word], { cwd: root, env: env({ EDITOR: editor(root), SOPS_EDITOR: editor(root) }) })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toMatch(/^tsops — /)
    expect(fs.existsSync(path.join(root, word))).toBe(false)
  })
})
