/**
 * The guard run by the pre-commit framework (https://pre-commit.com) from this repository's
 * .pre-commit-hooks.yaml, the way a project would use it: `repo:` pointing at a clone of the
 * hook repository, `pre-commit install`, then plain `git commit`.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { testAgeIdentity } from '../helpers/age.js'
import { CLI, REPO_ROOT } from '../helpers/paths.js'
import { TestRepo, expectOk, shq, sopsConfig } from './repo.js'

let age: { identity: string; recipient: string }
let project: TestRepo
let hooks: TestRepo

beforeAll(async () => {
  age = await testAgeIdentity()
  const probe = spawnSync('pre-commit', ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error('the `pre-commit` program is not installed: install it (Debian: apt-get install -y pre-commit) to run this test')
  }
})
afterEach(() => {
  project?.cleanup()
  hooks?.cleanup()
})

describe('pre-commit framework', () => {
  it('blocks a plaintext secret through the tsops-check hook and passes it once encrypted', async () => {
    // A hook repository holding exactly this repository's manifest.
    hooks = await TestRepo.create()
    fs.copyFileSync(path.join(REPO_ROOT, '.pre-commit-hooks.yaml'), hooks.path('.pre-commit-hooks.yaml'))
    await hooks.gitOk(['add', '.'])
    await hooks.gitOk(['commit', '-q', '-m', 'hooks'])
    const rev = (await hooks.gitOk(['rev-parse', 'HEAD'])).trim()

    // `tsops` on PATH runs the CLI under test.
    const bin = path.join(hooks.home, 'bin')
    fs.mkdirSync(bin)
    fs.writeFileSync(path.join(bin, 'tsops'), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(CLI)} "$@"\n`, { mode: 0o755 })

    project = await TestRepo.create()
    const env = { PATH: `${bin}${path.delimiter}${project.env.PATH ?? ''}`, PRE_COMMIT_HOME: path.join(project.home, 'pre-commit-cache') }
    project.write('.sops.yaml', sopsConfig(age.recipient))
    project.write('.pre-commit-config.yaml', `repos:\n  - repo: ${hooks.dir}\n    rev: ${rev}\n    hooks:\n      - id: tsops-check\n`)
    const pc = spawnSync('pre-commit', ['install'], { cwd: project.dir, env: { ...project.env, ...env } as NodeJS.ProcessEnv, encoding: 'utf8' })
    expect(pc.stderr).toBe('')
    expect(pc.status).toBe(0)

    project.write('secrets/db.yaml', 'db:\n    password: hunter2\n')
    await project.gitOk(['add', '.'])
    const blocked = await project.git(['commit', '-q', '-m', 'plaintext'], { env })
    expect(blocked.code).not.toBe(0)
    const output = blocked.stdout + blocked.stderr
    expect(output).toContain('tsops (no plaintext secrets)')
    expect(output).toContain('secrets/db.yaml is not encrypted (no sops metadata)')
    expect(output).not.toContain('hunter2')

    await expectOk(await project.tsops(['encrypt', '-i', 'secrets/db.yaml']), 'encrypt')
    await project.gitOk(['add', 'secrets/db.yaml'])
    const passed = await project.git(['commit', '-q', '-m', 'encrypted'], { env })
    expect(passed.code, passed.stdout + passed.stderr).toBe(0)
    expect((await project.gitOk(['log', '--format=%s'])).trim()).toBe('encrypted')
  })
})
