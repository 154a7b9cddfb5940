/**
 * Where the edit buffer lives (src/edit/tempdir.ts): in RAM (/dev/shm) when the system has it,
 * in a per-user directory nobody else can use; and what a SIGKILLed tsops leaves behind is
 * removed by the next run that makes a temp dir.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { CLI } from '../helpers/paths.js'
import { PrivateTempDir, RAM_ROOT, ownerTag, ramParent, reapDeadDirs } from '../../src/edit/tempdir.js'

const { dir, env, encrypted } = cliWorkspace('tsops-edit-tmp-')
const uid = process.getuid!()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A test root on the RAM file system, standing in for /dev/shm. */
const fakeRoot = fs.mkdtempSync(path.join(RAM_ROOT, 'tsops-test-root-'))
afterAll(() => fs.rmSync(fakeRoot, { recursive: true, force: true }))

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await sleep(25)
}

describe('edit temp dirs', () => {
  it('are on /dev/shm when it exists, in a 0700 directory of the user', async () => {
    expect(fs.existsSync(RAM_ROOT)).toBe(true) // this suite runs on Linux with a tmpfs /dev/shm
    const file = await encrypted('where.yaml', 'a: secret\n')
    const report = path.join(dir, 'where.txt')
    const ed = path.join(dir, 'where.sh')
    fs.writeFileSync(ed, `#!/bin/sh\necho "$1" > '${report}'\nstat -c '%a %u' "$(dirname "$1")" "$(dirname "$(dirname "$1")")" >> '${report}'\necho 'a: changed' > "$1"\n`, { mode: 0o755 })
    const r = await runCli(['edit', file], { env: env({ SOPS_EDITOR: ed, TMPDIR: path.join(dir, 'no-such-tmp') }) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const [tempFile, dirStat, parentStat] = fs.readFileSync(report, 'utf8').trim().split('\n')
    expect(path.dirname(path.dirname(tempFile!))).toBe(path.join(RAM_ROOT, `tsops-${uid}`))
    expect(dirStat).toBe(`700 ${uid}`)
    expect(parentStat).toBe(`700 ${uid}`)
    expect(fs.existsSync(path.dirname(tempFile!))).toBe(false)
  })

  it('a SIGKILLed tsops edit leaves its dir; the next run removes it', async () => {
    const file = await encrypted('killed.yaml', 'password: plaintext-marker-77\n')
    const started = path.join(dir, 'killed-started')
    const ed = path.join(dir, 'killed.sh')
    // Records its pid and the temp file, then sleeps (exec: the sleep keeps the pid).
    fs.writeFileSync(ed, `#!/bin/sh\necho "$$ $1" > '${started}'\nexec sleep 30\n`, { mode: 0o755 })
    const child = spawn(process.execPath, [CLI, 'edit', file], { env: env({ SOPS_EDITOR: ed }), stdio: 'ignore' })
    const exited = new Promise((resolve) => child.on('close', resolve))
    await waitFor(() => fs.existsSync(started) && fs.readFileSync(started, 'utf8').endsWith('\n'))
    const [editorPid, tempFile] = fs.readFileSync(started, 'utf8').trim().split(' ')
    child.kill('SIGKILL')
    await exited
    process.kill(Number(editorPid), 'SIGKILL')
    const left = path.dirname(tempFile!)
    expect(path.basename(left)).toMatch(new RegExp(`^edit-\\d+\\.${child.pid}-`))
    expect(fs.readFileSync(tempFile!, 'utf8')).toContain('plaintext-marker-77') // what SIGKILL leaves

    const next = await runCli(['edit', await encrypted('next.yaml', 'a: 1\n')], { env: env({ SOPS_EDITOR: 'true' }) })
    expect(next.code).toBe(200) // unchanged; the point is what it cleaned up on the way
    expect(fs.existsSync(left)).toBe(false)
  })

  it('removes only dirs of dead processes of this pid namespace that belong to the user', () => {
    const parent = fs.mkdtempSync(path.join(fakeRoot, 'reap-'))
    const ns = ownerTag().split('.')[0]
    const dead = 2 ** 22 + 12345 // above pid_max: no such process
    const deadDir = path.join(parent, `edit-${ns}.${dead}-abcdef`)
    const liveDir = path.join(parent, `edit-${ownerTag()}-abcdef`)
    const othersDir = path.join(parent, `edit-${ns}.${dead + 1}-abcdef`)
    const otherNamespace = path.join(parent, `edit-1${ns}.${dead}-abcdef`)
    const unrelated = path.join(parent, `notes-${dead}`)
    const all = [deadDir, liveDir, othersDir, otherNamespace, unrelated]
    for (const d of all) fs.mkdirSync(d)
    fs.chownSync(othersDir, 12345, 12345)
    expect(reapDeadDirs(parent, '')).toEqual([deadDir])
    expect(all.map((d) => fs.existsSync(d))).toEqual([false, true, true, true, true])
  })

  it('refuses a per-user dir that is not a private directory of the user; then $TMPDIR is used', () => {
    const cases: [string, (d: string) => void][] = [
      ['writable by others', (d) => (fs.mkdirSync(d), fs.chmodSync(d, 0o777))],
      ['owned by someone else', (d) => (fs.mkdirSync(d, { mode: 0o700 }), fs.chownSync(d, 12345, 12345))],
      ['a symbolic link', (d) => fs.symlinkSync(os.tmpdir(), d)],
    ]
    for (const [what, plant] of cases) {
      const root = fs.mkdtempSync(path.join(fakeRoot, 'root-'))
      plant(path.join(root, `tsops-${uid}`))
      expect(ramParent(root), what).toBeUndefined()
    }
    const clean = fs.mkdtempSync(path.join(fakeRoot, 'root-'))
    expect(ramParent(clean)).toBe(path.join(clean, `tsops-${uid}`))
    expect(fs.statSync(path.join(clean, `tsops-${uid}`)).mode & 0o777).toBe(0o700)
    // Not a RAM file system: not used.
    expect(ramParent(dir)).toBeUndefined()
    expect(ramParent(path.join(dir, 'missing'))).toBeUndefined()

    const tmp = fs.mkdtempSync(path.join(dir, 'fallback-'))
    const saved = process.env.TMPDIR
    process.env.TMPDIR = tmp
    try {
      const made = PrivateTempDir.create('edit', path.join(dir, 'missing'))
      expect(path.dirname(made.path)).toBe(tmp)
      expect(path.basename(made.path)).toMatch(new RegExp(`^tsops-edit-${ownerTag().replace('.', '\\.')}-`))
      made.remove()
    } finally {
      process.env.TMPDIR = saved
    }
  })
})
