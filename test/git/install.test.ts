/** `tsops git install` / `uninstall` in real repositories. */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { DEFAULT_COMMAND, TEXTCONV_CLIENT, textconvCommand } from '../../src/git/install.js'
import { TSOPS_COMMAND, TestRepo, sopsConfig } from './repo.js'

let age: { identity: string; recipient: string }
let repo: TestRepo

beforeAll(async () => {
  age = await testAgeIdentity()
})
afterEach(() => repo?.cleanup())

async function localConfig(): Promise<string> {
  return (await repo.git(['config', '--local', '--list'])).stdout
}

function snapshot(hooksDir = '.git/hooks') {
  const read = (rel: string) => (repo.exists(rel) ? repo.read(rel) : undefined)
  return {
    attributes: read('.gitattributes'),
    hook: read(`${hooksDir}/pre-commit`),
    chained: read(`${hooksDir}/pre-commit.tsops-chained`),
  }
}

const EXISTING_HOOK = '#!/bin/sh\necho "existing hook ran" >> "$HOME/hook.log"\nexit "${EXISTING_HOOK_STATUS:-0}"\n'

describe('tsops git install', () => {
  it('writes the attributes, the repository config and the hook; a second run changes nothing', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    const first = await repo.install()
    expect(first.stdout.toString()).toContain('creation_rules[1] has no path_regex')
    const once = { ...snapshot(), config: await localConfig() }
    expect(once.attributes).toContain('secrets/**/*.yaml diff=tsops merge=tsops\n')
    expect(once.config).toContain(`diff.tsops.textconv=${TSOPS_COMMAND} git textconv\n`)
    expect(once.config).toContain(`merge.tsops.driver=${TSOPS_COMMAND} git merge %O %A %B %L %P\n`)
    expect(once.config).toMatch(/merge\.tsops\.name=.+/)
    expect(once.config).not.toContain('cachetextconv')
    expect(once.hook).toContain('tsops-managed-hook')
    expect(fs.statSync(repo.path('.git/hooks/pre-commit')).mode & 0o111).toBe(0o111)
    expect((await repo.git(['config', '--global', '--list'])).stdout).not.toContain('tsops')

    const second = await repo.install()
    expect(second.stdout.toString()).toContain('already installed')
    expect({ ...snapshot(), config: await localConfig() }).toEqual(once)
  })

  it('keeps an existing pre-commit hook, runs it first, and uninstall puts it back', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    repo.write('.git/hooks/pre-commit', EXISTING_HOOK)
    fs.chmodSync(repo.path('.git/hooks/pre-commit'), 0o755)
    const r = await repo.install()
    expect(r.stdout.toString()).toContain('pre-commit.tsops-chained')
    expect(snapshot().chained).toBe(EXISTING_HOOK)
    await repo.install() // idempotent with a chained hook too
    expect(snapshot().chained).toBe(EXISTING_HOOK)

    repo.write('secrets/db.yaml', 'password: hunter2\n')
    await repo.gitOk(['add', '.'])
    const blocked = await repo.git(['commit', '-q', '-m', 'x'])
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('secrets/db.yaml is not encrypted')
    expect(fs.readFileSync(path.join(repo.home, 'hook.log'), 'utf8')).toBe('existing hook ran\n')

    // The chained hook's own failure stops the commit as before.
    await repo.gitOk(['rm', '-q', '--cached', 'secrets/db.yaml'])
    const failing = await repo.git(['commit', '-q', '-m', 'y'], { env: { EXISTING_HOOK_STATUS: '3' } })
    expect(failing.code).not.toBe(0)

    const un = await repo.tsops(['git', 'uninstall'])
    expect(un.code).toBe(0)
    expect(un.stdout.toString()).toContain('previous hook was put back')
    expect(snapshot()).toEqual({ attributes: undefined, hook: EXISTING_HOOK, chained: undefined })
  })

  it('honours core.hooksPath', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    await repo.gitOk(['config', 'core.hooksPath', '.githooks'])
    await repo.install()
    expect(repo.exists('.githooks/pre-commit')).toBe(true)
    expect(repo.exists('.git/hooks/pre-commit')).toBe(false)
    repo.write('secrets/db.yaml', 'password: hunter2\n')
    await repo.gitOk(['add', 'secrets', '.sops.yaml'])
    const blocked = await repo.git(['commit', '-q', '-m', 'x'])
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('secrets/db.yaml is not encrypted')
    await repo.tsops(['git', 'uninstall'])
    expect(repo.exists('.githooks/pre-commit')).toBe(false)
  })

  it('a hook shared through core.hooksPath checks nothing in a repository where tsops is not installed', async () => {
    repo = await TestRepo.create()
    const shared = `${repo.home}/shared-hooks`
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    await repo.gitOk(['config', 'core.hooksPath', shared])
    await repo.install()
    const other = `${repo.home}/other`
    await repo.gitOk(['init', '-q', '-b', 'main', other])
    await repo.gitOk(['config', 'core.hooksPath', shared], { cwd: other })
    fs.mkdirSync(`${other}/secrets`)
    fs.writeFileSync(`${other}/.sops.yaml`, sopsConfig(age.recipient))
    fs.writeFileSync(`${other}/secrets/db.yaml`, 'password: hunter2\n')
    await repo.gitOk(['add', '.'], { cwd: other })
    expect((await repo.git(['commit', '-q', '-m', 'x'], { cwd: other })).code).toBe(0)
    // …while the repository that installed it is protected.
    repo.write('secrets/db.yaml', 'password: hunter2\n')
    await repo.gitOk(['add', '.'])
    expect((await repo.git(['commit', '-q', '-m', 'x'])).code).not.toBe(0)
  })

  it('uninstall restores .gitattributes byte for byte and removes every setting', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    const original = '*.png binary\n# keep me\n'
    repo.write('.gitattributes', original)
    const before = await localConfig()
    await repo.install()
    expect(repo.read('.gitattributes').startsWith(original)).toBe(true)
    const un = await repo.tsops(['git', 'uninstall'])
    expect(un.code).toBe(0)
    expect(repo.read('.gitattributes')).toBe(original)
    expect(await localConfig()).toBe(before)
    expect(repo.exists('.git/hooks/pre-commit')).toBe(false)
    // Uninstalling twice is harmless.
    expect((await repo.tsops(['git', 'uninstall'])).code).toBe(0)
  })

  it('removes a cachetextconv setting: cached textconv output would keep plaintext in the repository', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    await repo.gitOk(['config', 'diff.tsops.cachetextconv', 'true'])
    const r = await repo.install()
    expect(r.stderr).toContain('removed diff.tsops.cachetextconv')
    expect(await localConfig()).not.toContain('cachetextconv')
  })

  it('falls back to the extensions of the files a regex matches when no glob can express it, and says so', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', `creation_rules:\n  - path_regex: ^(secrets|vault)/[0-9]+[.](yaml|json)$\n    age: ${age.recipient}\n`)
    repo.write('secrets/1.yaml', 'a: 1\n')
    repo.write('vault/22.json', '{}\n')
    repo.write('vault/notes.txt', 'x\n')
    const r = await repo.install()
    expect(r.stderr).toContain('cannot be written as a .gitattributes pattern; using the extensions of the files it matches now: *.json *.yaml')
    expect(repo.read('.gitattributes')).toContain('*.json diff=tsops merge=tsops\n*.yaml diff=tsops merge=tsops\n')
  })

  it('refuses to run outside a git work tree', async () => {
    repo = new TestRepo()
    const r = await repo.tsops(['git', 'install', '--tsops-command', TSOPS_COMMAND])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('not inside a git work tree')
  })

  it('installs the pre-merge-commit hook next to pre-commit, chaining a foreign one, and uninstall removes both', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    repo.write('.git/hooks/pre-merge-commit', EXISTING_HOOK)
    const r = await repo.install()
    expect(r.stdout.toString()).toContain('pre-merge-commit: installed; the existing hook was kept as pre-merge-commit.tsops-chained')
    expect(repo.read('.git/hooks/pre-merge-commit')).toContain('tsops-managed-hook')
    expect(fs.statSync(repo.path('.git/hooks/pre-merge-commit')).mode & 0o111).toBe(0o111)
    await repo.tsops(['git', 'uninstall'])
    expect(repo.read('.git/hooks/pre-merge-commit')).toBe(EXISTING_HOOK)
    expect(repo.exists('.git/hooks/pre-merge-commit.tsops-chained')).toBe(false)
    expect(repo.exists('.git/hooks/pre-commit')).toBe(false)
  })
})

describe('monorepos and catch-all configs', () => {
  /** A `tsops` on PATH that runs the CLI under test, so hint commands can be run as printed. */
  function tsopsOnPath(): Record<string, string> {
    const bin = path.join(repo.home, 'bin')
    fs.mkdirSync(bin, { recursive: true })
    fs.writeFileSync(path.join(bin, 'tsops'), `#!/bin/sh\nexec ${TSOPS_COMMAND} "$@"\n`, { mode: 0o755 })
    return { PATH: `${bin}:${process.env.PATH}` }
  }

  it('with .sops.yaml in svc/, the guard\'s fix hint works from the repository root, and uninstall from the root removes svc/.gitattributes', async () => {
    repo = await TestRepo.create()
    repo.write('svc/.sops.yaml', `creation_rules:\n  - path_regex: ^prod/.*\\.yaml$\n    age: ${age.recipient}\n`)
    await repo.install([], repo.path('svc'))
    expect(repo.read('svc/.gitattributes')).toContain('prod/**/*.yaml diff=tsops merge=tsops')
    repo.write('svc/prod/app.yaml', 'password: hunter2\n')
    await repo.gitOk(['add', '.'])
    const blocked = await repo.git(['commit', '-q', '-m', 'x'])
    expect(blocked.code).not.toBe(0)
    const fix = /fix: (.*), then git add (.*)$/m.exec(blocked.stderr)
    expect(fix?.[1]).toBe('(cd svc && tsops encrypt -i prod/app.yaml)')
    expect(fix?.[2]).toBe('svc/prod/app.yaml')
    // tsops check gives the same kind of command, from where it runs.
    expect((await repo.tsops(['check', 'svc'])).stdout.toString()).toContain('fix: (cd svc && tsops encrypt -i prod/app.yaml)')
    expect((await repo.tsops(['check', '.'], { cwd: repo.path('svc/prod') })).stdout.toString()).toContain("fix: (cd .. && tsops encrypt -i prod/app.yaml)")
    // Run the hint exactly as printed, from the root.
    const env = { ...repo.env, ...tsopsOnPath() }
    const ran = await new Promise<number>((resolve) => {
      execFile('sh', ['-c', `${fix![1]} && git add ${fix![2]}`], { cwd: repo.dir, env: env as NodeJS.ProcessEnv }, (err) => resolve(err ? 1 : 0))
    })
    expect(ran).toBe(0)
    const passed = await repo.git(['commit', '-q', '-m', 'x'])
    expect(passed.stderr).toBe('')
    expect(passed.code).toBe(0)

    const un = await repo.tsops(['git', 'uninstall'])
    expect(un.code).toBe(0)
    expect(un.stdout.toString()).toContain('svc/.gitattributes: removed the tsops entries')
    expect(repo.exists('svc/.gitattributes')).toBe(false)
  })

  it('explains a catch-all config with the command to run; --pattern adds patterns that later installs keep and uninstall removes', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', `creation_rules:\n  - age: ${age.recipient}\n`)
    const first = await repo.install()
    expect(first.stdout.toString()).toContain("a catch-all rule chooses keys, not files")
    expect(first.stdout.toString()).toContain("tsops git install --pattern '*.enc.yaml'")
    expect(repo.exists('.gitattributes')).toBe(false)

    await repo.install(['--pattern', '*.enc.yaml', '--pattern', 'secrets/**'])
    expect(repo.read('.gitattributes')).toContain('*.enc.yaml diff=tsops merge=tsops\nsecrets/** diff=tsops merge=tsops\n')
    await repo.install()
    expect(repo.read('.gitattributes')).toContain('*.enc.yaml diff=tsops merge=tsops\nsecrets/** diff=tsops merge=tsops\n')
    expect((await repo.gitOk(['check-attr', 'merge', '--', 'app.enc.yaml'])).trim()).toBe('app.enc.yaml: merge: tsops')

    const bad = await repo.tsops(['git', 'install', '--tsops-command', TSOPS_COMMAND, '--pattern', '!x'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('invalid --pattern "!x"')

    await repo.tsops(['git', 'uninstall'])
    expect(repo.exists('.gitattributes')).toBe(false)
    expect(await localConfig()).not.toContain('tsops')
  })
})

describe('the textconv driver install chooses', () => {
  const bins = tempWorkspace('tsops-install-path-')
  /** A PATH of one folder holding executables named `names`. */
  function pathWith(...names: string[]): string {
    const dir = bins.subdir('bin-')
    for (const name of names) fs.writeFileSync(path.join(dir, name), '#!/bin/sh\n', { mode: 0o755 })
    return dir
  }

  it('is tsops-textconv (the agent client) for the default command when it and perl are on PATH, on Linux and macOS', () => {
    const both = { PATH: pathWith('perl', TEXTCONV_CLIENT) }
    expect(textconvCommand(DEFAULT_COMMAND, both, 'linux')).toBe(TEXTCONV_CLIENT)
    expect(textconvCommand(DEFAULT_COMMAND, both, 'darwin')).toBe(TEXTCONV_CLIENT)
    expect(textconvCommand(DEFAULT_COMMAND, both, 'win32')).toBe('tsops git textconv')
    expect(textconvCommand(DEFAULT_COMMAND, { PATH: pathWith('perl') }, 'linux')).toBe('tsops git textconv')
    expect(textconvCommand(DEFAULT_COMMAND, { PATH: pathWith(TEXTCONV_CLIENT) }, 'linux')).toBe('tsops git textconv')
    // Another command means another tsops: its own textconv, never a client found elsewhere.
    expect(textconvCommand('npx tsops', both, 'linux')).toBe('npx tsops git textconv')
  })

  it('is written to the repository config by tsops git install', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(age.recipient))
    const bin = pathWith('perl', TEXTCONV_CLIENT)
    const r = await repo.tsops(['git', 'install'], { env: { PATH: `${bin}${path.delimiter}${process.env.PATH}` } })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toContain('diff.tsops.textconv runs tsops-textconv')
    expect(await localConfig()).toContain('diff.tsops.textconv=tsops-textconv\n')
    expect(await localConfig()).toContain('merge.tsops.driver=tsops git merge %O %A %B %L %P\n')
  })
})
