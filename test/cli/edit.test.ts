import { describe, expect, it } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { CLI } from '../helpers/paths.js'
import { ramParent } from '../../src/edit/tempdir.js'

const { dir, age, env, encrypted, decrypted } = cliWorkspace('tsops-edit-')

const FIFTY = Array.from({ length: 50 }, (_, i) => `key${i}: value-${i}\n`).join('')

/** A scripted editor: a node script that gets the temp file as its last argument. */
function editor(name: string, body: string): string {
  const script = path.join(dir, `${name}.mjs`)
  fs.writeFileSync(script, `#!${process.execPath}\nimport fs from 'node:fs'\nconst file = process.argv.at(-1)\n${body}\n`, { mode: 0o755 })
  return script
}

/** Every file under `root` (recursively). */
function filesUnder(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))
}

describe('tsops edit', () => {
  it('changing 1 of 50 values changes exactly 3 lines (git diff --numstat)', async () => {
    const repo = fs.mkdtempSync(path.join(dir, 'repo-'))
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...a], { cwd: repo, encoding: 'utf8' })
    git('init', '-q')
    const file = await encrypted('secrets.yaml', FIFTY, repo)
    git('add', 'secrets.yaml')
    git('commit', '-q', '-m', 'init')
    const ed = editor('change-one', `fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('key23: value-23', 'key23: edited'))`)
    // lastmodified has second precision: the edit runs with its clock 2 s ahead.
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: ed }), clockOffsetMs: 2_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(git('diff', '--numstat').trim()).toBe('3\t3\tsecrets.yaml')
    const diff = git('diff', '-U0')
    expect(diff).toMatch(/^\+key23: ENC\[/m)
    expect(diff).toMatch(/^\+ {4}lastmodified: /m)
    expect(diff).toMatch(/^\+ {4}mac: ENC\[/m)
    expect(await decrypted(file)).toBe(FIFTY.replace('key23: value-23', 'key23: edited'))
  })

  it('the editor sees the plaintext in a 0600 file named like the original, in a private 0700 dir', async () => {
    const file = await encrypted('look.json', '{"user": "admin", "password": "hunter2"}\n')
    const report = path.join(dir, 'look-report.json')
    const ed = editor(
      'inspect',
      `const st = fs.statSync(file); const d = fs.statSync(file.slice(0, file.lastIndexOf('/')))
fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify({ name: file.split('/').at(-1), mode: st.mode & 0o777, dirMode: d.mode & 0o777, text: fs.readFileSync(file, 'utf8'), dir: file.slice(0, file.lastIndexOf('/')) }))
fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('hunter2', 'hunter3'))`,
    )
    const r = await runCli(['edit', file], { env: env({ EDITOR: ed }) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const seen = JSON.parse(fs.readFileSync(report, 'utf8')) as { name: string; mode: number; dirMode: number; text: string; dir: string }
    expect(seen).toMatchObject({ name: 'look.json', mode: 0o600, dirMode: 0o700, text: '{\n\t"user": "admin",\n\t"password": "hunter2"\n}\n' })
    expect(fs.existsSync(seen.dir)).toBe(false)
    expect(await decrypted(file)).toBe('{\n\t"user": "admin",\n\t"password": "hunter3"\n}\n')
  })

  it('an editor that changes nothing: exit 200, file byte-identical', async () => {
    const file = await encrypted('same.yaml', 'a: 1\n')
    const before = fs.readFileSync(file)
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: editor('noop', '') }) })
    expect(r.code).toBe(200)
    expect(r.stderr).toContain('File has not changed, exiting.')
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })

  it('invalid YAML from the editor without a TTY: clean failure with the position, original untouched, no plaintext left', async () => {
    const file = await encrypted('invalid.yaml', 'a: secret-value\n')
    const before = fs.readFileSync(file)
    const tmp = fs.mkdtempSync(path.join(dir, 'tmpdir-'))
    const ed = editor('break', `fs.writeFileSync(file, 'a: secret-value\\nb: [unclosed\\n')`)
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: ed, TMPDIR: tmp }) })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('invalid syntax')
    expect(r.stderr).toMatch(/line \d+/)
    expect(r.stderr).not.toContain('secret-value')
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    expect(fs.readdirSync(tmp)).toEqual([])
    const sopsKey = await runCli(['edit', file], { env: env({ SOPS_EDITOR: editor('sops-key', `fs.writeFileSync(file, 'a: 1\\nsops:\\n    mine: 2\\n')`) }) })
    expect(sopsKey.code).toBe(203)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })

  it('SIGTERM while the editor runs: exit 1, original untouched, temp dir gone, no plaintext under $TMPDIR', async () => {
    const file = await encrypted('term.yaml', 'password: plaintext-marker-42\n')
    const before = fs.readFileSync(file)
    const tmp = fs.mkdtempSync(path.join(dir, 'tmpdir-'))
    const started = path.join(dir, 'term-started')
    const ed = path.join(dir, 'sleepy.sh')
    // The editor records the temp file it got, then sleeps (exec: the sleep itself gets the signal).
    fs.writeFileSync(ed, `#!/bin/sh\necho "$1" > '${started}'\nexec sleep 30\n`, { mode: 0o755 })
    const child = spawn(process.execPath, [CLI, 'edit', file], { env: env({ SOPS_EDITOR: ed, TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    // Wait for the whole line: `echo … >` creates the file before it writes to it.
    const recorded = () => fs.existsSync(started) && fs.readFileSync(started, 'utf8').endsWith('\n')
    for (let i = 0; i < 400 && !recorded(); i++) await new Promise((r) => setTimeout(r, 25))
    const tempFile = fs.readFileSync(started, 'utf8').trim()
    // In RAM when the system has it (src/edit/tempdir.ts), else under $TMPDIR.
    expect(tempFile.startsWith(ramParent() ?? tmp)).toBe(true)
    expect(fs.readFileSync(tempFile, 'utf8')).toContain('plaintext-marker-42')
    child.kill('SIGTERM')
    expect(await exited).toBe(1)
    expect(stderr).toContain('User canceled operation')
    expect(fs.existsSync(path.dirname(tempFile))).toBe(false)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    for (const f of filesUnder(tmp)) expect(fs.readFileSync(f, 'utf8')).not.toContain('plaintext-marker-42')
    expect(filesUnder(tmp)).toEqual([])
  })

  it('creates a new file from the example document with --age', async () => {
    const file = path.join(dir, 'new.yaml')
    const ed = editor('fill', `fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('example_value', 'created'))`)
    const r = await runCli(['edit', '--age', age.recipient, file], { env: env({ SOPS_EDITOR: ed }), cwd: dir })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain(age.recipient)
    expect(text).not.toContain('created')
    expect(await decrypted(file)).toBe(
      'hello: Welcome to SOPS! Edit this file as you please!\nexample_key: created\n# Example comment\nexample_array:\n    - example_value1\n    - example_value2\nexample_number: 1234.56789\nexample_booleans:\n    - true\n    - false\n',
    )
  })

  it('a new file without config or keys fails with sops text and creates nothing', async () => {
    const file = path.join(dir, 'nokeys.yaml')
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: editor('unused', 'process.exit(3)') }), cwd: dir })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('config file not found, or has no creation rules, and no keys provided through command line options')
    expect(fs.existsSync(file)).toBe(false)
  })

  it('editor failures are exit 201 and leave the file untouched', async () => {
    const file = await encrypted('fail.yaml', 'a: 1\n')
    const before = fs.readFileSync(file)
    const failing = await runCli(['edit', file], { env: env({ SOPS_EDITOR: editor('fails', 'process.exit(4)') }) })
    expect(failing.code).toBe(201)
    expect(failing.stderr).toContain('Could not run editor: exit status 4')
    const missing = await runCli(['edit', file], { env: env({ SOPS_EDITOR: path.join(dir, 'no-such-editor') }) })
    expect(missing.code).toBe(201)
    const none = await runCli(['edit', file], { env: env({ PATH: path.join(dir, 'empty-path'), EDITOR: '', SOPS_EDITOR: '' }) })
    expect(none.code).toBe(201)
    expect(none.stderr).toContain('no editor available')
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })

  it('-s shows the metadata and accepts the edit; bare `tsops FILE` edits too', async () => {
    const file = await encrypted('show.yaml', 'a: 1\nb: two\n')
    const ed = editor('show', `const t = fs.readFileSync(file, 'utf8'); if (!t.includes('sops:') || !t.includes('recipient:')) process.exit(9); fs.writeFileSync(file, t.replace('b: two', 'b: three'))`)
    const r = await runCli(['edit', '-s', file], { env: env({ SOPS_EDITOR: ed }) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(await decrypted(file)).toBe('a: 1\nb: three\n')
    const legacy = await runCli([file], { env: env({ SOPS_EDITOR: editor('legacy', `fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('a: 1', 'a: 2'))`) }), cwd: dir })
    expect(legacy.stderr).toBe('')
    expect(legacy.code).toBe(0)
    expect(await decrypted(file)).toBe('a: 2\nb: three\n')
  })

  it('raises an older sops version to ours, keeps a newer one; set keeps it', async () => {
    const file = await encrypted('version.yaml', 'a: 1\n')
    const setVersion = (v: string) => fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^ {4}version: .*$/m, `    version: ${v}`))
    const version = () => /^ {4}version: (.*)$/m.exec(fs.readFileSync(file, 'utf8'))![1]
    const bump = editor('bump', `fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/a: \\d+/, 'a: ' + Date.now()))`)
    setVersion('3.7.1')
    expect((await runCli(['set', file, '["b"]', '"x"'], { env: env() })).code).toBe(0)
    expect(version()).toBe('3.7.1')
    expect((await runCli(['edit', file], { env: env({ SOPS_EDITOR: bump }) })).code).toBe(0)
    expect(version()).toBe('3.13.2')
    setVersion('3.99.0-rc.1')
    expect((await runCli(['edit', file], { env: env({ SOPS_EDITOR: bump }) })).code).toBe(0)
    expect(version()).toBe('3.99.0-rc.1')
  })

  it('on a TTY an invalid edit asks for Enter and reopens the editor', async () => {
    const file = await encrypted('tty.yaml', 'a: 1\n')
    const count = path.join(dir, 'tty-count')
    const ed = editor(
      'twice',
      `const n = fs.existsSync(${JSON.stringify(count)}) ? Number(fs.readFileSync(${JSON.stringify(count)}, 'utf8')) : 0
fs.writeFileSync(${JSON.stringify(count)}, String(n + 1))
fs.writeFileSync(file, n === 0 ? 'a: [broken\\n' : 'a: fixed\\n')`,
    )
    const command = [process.execPath, CLI, 'edit', file].map((a) => `'${a}'`).join(' ')
    // `script` gives tsops a pseudo-terminal; the newline on its stdin is the Enter key.
    const r = await runCli(['-qec', command, '/dev/null'], { command: ['script'], env: env({ SOPS_EDITOR: ed }), input: '\n' })
    expect(r.stdout.toString()).toContain('Press enter to return to the editor, or Ctrl+C to exit.')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(count, 'utf8')).toBe('2')
    expect(await decrypted(file)).toBe('a: fixed\n')
  })
})

describe('tsops edit while the file changes on disk', () => {
  it('does not overwrite a change made during the edit; the edit is saved encrypted beside the file', async () => {
    const file = await encrypted('raced.yaml', 'a: 1\nb: 2\n')
    // The editor changes the value, and meanwhile `tsops set` changes the file itself.
    const ed = editor(
      'race',
      `import { execFileSync } from 'node:child_process'
fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('a: 1', 'a: edited'))
execFileSync(process.execPath, [${JSON.stringify(CLI)}, 'set', ${JSON.stringify(file)}, '["b"]', '"set meanwhile"'])`,
    )
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: ed }) })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('changed while it was being edited; not overwritten')
    expect(await decrypted(file)).toBe('a: 1\nb: set meanwhile\n')
    const saved = fs.readdirSync(dir).filter((f) => f.startsWith('raced.yaml.tsops-edit-'))
    expect(saved).toHaveLength(1)
    expect(r.stderr).toContain(saved[0])
    expect(fs.statSync(path.join(dir, saved[0]!)).mode & 0o777).toBe(0o600)
    const edit = await runCli(['decrypt', '--input-type', 'yaml', '--output-type', 'yaml', path.join(dir, saved[0]!)], { env: env() })
    expect(edit.stdout.toString()).toBe('a: edited\nb: 2\n')
  })
})
