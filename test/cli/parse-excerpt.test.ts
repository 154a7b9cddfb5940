// Every command that reads an encrypted file shows where a syntax error is, as `tsops`: the
// failing line masked (structure only, never a value) with a caret under the column, printed
// after the hint. Run as `sops`, stderr is sops's alone: no excerpt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { makeSopsBin } from '../integrations/sops-bin.js'

const ws = cliWorkspace('tsops-parse-excerpt-')

/** The encrypted file, broken on its second line (`b:` becomes an unclosed flow sequence). */
const BROKEN = {
  yaml: { excerpt: '    *: [****\n        ^\n', hint: 'at line 2, column 5' },
  json: { excerpt: '    \t"*": [,,\n    \t      ^\n', hint: 'at line 3, column 8' },
} as const
type Format = keyof typeof BROKEN
const files: Record<Format, string> = { yaml: '', json: '' }

beforeAll(async () => {
  fs.writeFileSync(path.join(ws.dir, '.sops.yaml'), `creation_rules:\n  - age: ${ws.age.recipient}\n`)
  const yaml = await ws.encrypted('s.yaml', 'a: secret\nb:\n  - 1\n')
  fs.writeFileSync(yaml, fs.readFileSync(yaml, 'utf8').replace(/^b:$/m, 'b: [oops'))
  const json = await ws.encrypted('s.json', '{"a": "secret", "b": [1, 2]}')
  fs.writeFileSync(json, fs.readFileSync(json, 'utf8').replace('"b": [', '"b": [,,'))
  files.yaml = yaml
  files.json = json
})

/** Each command's arguments for `file`, run in the workspace (where .sops.yaml is). */
const COMMANDS: Record<string, (file: string) => string[]> = {
  'rotate -i': (f) => ['rotate', '-i', f],
  'updatekeys -y': (f) => ['updatekeys', '-y', f],
  decrypt: (f) => ['decrypt', f],
  filestatus: (f) => ['filestatus', f],
  'exec-env': (f) => ['exec-env', f, 'true'],
  set: (f) => ['set', f, '["a"]', '"x"'],
  unset: (f) => ['unset', f, '["a"]'],
  edit: (f) => ['edit', f],
}

describe.each(['yaml', 'json'] as const)('a malformed encrypted %s file', (format) => {
  it.each(Object.keys(COMMANDS))('tsops %s: the hint, then the masked line and a caret', async (command) => {
    const r = await runCli(COMMANDS[command]!(files[format]), { env: ws.env({ EDITOR: 'true' }), cwd: ws.dir })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain(`tsops: hint: ${BROKEN[format].hint}\n${BROKEN[format].excerpt}`)
    expect(r.stderr.endsWith(BROKEN[format].excerpt)).toBe(true)
    expect(r.stderr).not.toContain('secret')
  })

  it('tsops check: the masked line and caret under the problem', async () => {
    const r = await runCli(['check', files[format]], { env: ws.env(), cwd: ws.dir })
    expect(r.code).toBe(10)
    const indented = BROKEN[format].excerpt.replaceAll(/^ {4}/gm, '        ')
    expect(r.stdout.toString()).toContain(`syntax error ${BROKEN[format].hint}\n${indented}      fix: `)
  })
})

describe('run as sops', () => {
  const bin = makeSopsBin()
  afterAll(() => bin.cleanup())

  it.each(Object.keys(COMMANDS))('sops %s: no excerpt', async (command) => {
    for (const format of ['yaml', 'json'] as const) {
      const r = await runCli(COMMANDS[command]!(files[format]), { env: ws.env({ EDITOR: 'true' }), cwd: ws.dir, command: [path.join(bin.binDir, 'sops')] })
      expect(r.code).not.toBe(0)
      expect(r.stderr).not.toContain('^')
      expect(r.stderr).not.toContain('*')
      expect(r.stderr).not.toContain('hint')
    }
  })
})
