/**
 * What the merge driver and `tsops git resolve` write is a valid sops file for real sops: the
 * merged files are decrypted, MAC included, by the real sops 3.13.2 binary (test/helpers/real-sops.mjs).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ORACLE } from '../helpers/paths.js'
import { runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { TestRepo, expectOk, sopsConfig } from '../git/repo.js'
import { editSops, setPath } from '../git/sops-edit.js'

let age: { identity: string; recipient: string }
let repo: TestRepo

beforeAll(async () => {
  age = await testAgeIdentity()
})
afterEach(() => repo?.cleanup())

async function oracle(file: string, format: string): Promise<string> {
  const r = await runCli([repo.path(file), format], { env: { ...repo.env, SOPS_AGE_KEY: age.identity }, command: [process.execPath, ORACLE] })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return r.stdout.toString()
}

async function setup(files: Record<string, string>): Promise<void> {
  repo = await TestRepo.create({ SOPS_AGE_KEY: age.identity })
  repo.write('.sops.yaml', sopsConfig(age.recipient, '^secrets/'))
  await repo.install()
  for (const [file, content] of Object.entries(files)) {
    repo.write(file, content)
    await expectOk(await repo.tsops(['encrypt', '-i', file]), `encrypt ${file}`)
  }
  await repo.gitOk(['add', '.'])
  await repo.gitOk(['commit', '-q', '-m', 'base'])
}

async function branch(name: string, edits: [string, string, string][]): Promise<void> {
  await repo.gitOk(['checkout', '-q', '-B', name])
  for (const [file, key, value] of edits) await editSops(repo.path(file), age.identity, (r) => setPath(r, key, value))
  await repo.gitOk(['commit', '-q', '-a', '-m', name])
}

describe('sops oracle reads merged files', () => {
  it('decrypts clean key-level merges of YAML, JSON and dotenv files', async () => {
    await setup({
      'secrets/app.yaml': 'db:\n    user: app\n    password: base\napi:\n    token: base-token\n',
      'secrets/app.json': '{\n\t"a": "1",\n\t"b": "2"\n}\n',
      'secrets/app.env': 'A=1\nB=2\n',
    })
    await branch('feature', [['secrets/app.yaml', 'db.password', 'feature-pw'], ['secrets/app.json', 'a', 'feature-a'], ['secrets/app.env', 'A', 'feature-A']])
    await repo.gitOk(['checkout', '-q', 'main'])
    await branch('main', [['secrets/app.yaml', 'api.token', 'main-token'], ['secrets/app.json', 'b', 'main-b'], ['secrets/app.env', 'B', 'main-B']])
    const merge = await repo.git(['merge', '-q', '--no-edit', 'feature'])
    expect(merge.stderr).toBe('')
    expect(merge.code).toBe(0)
    expect(parseYaml(await oracle('secrets/app.yaml', 'yaml'))).toEqual({ db: { user: 'app', password: 'feature-pw' }, api: { token: 'main-token' } })
    expect(JSON.parse(await oracle('secrets/app.json', 'json'))).toEqual({ a: 'feature-a', b: 'main-b' })
    expect((await oracle('secrets/app.env', 'dotenv')).split('\n').filter(Boolean).sort()).toEqual(['A=feature-A', 'B=main-B'])
  })

  it('decrypts a conflict resolved with tsops git resolve', async () => {
    await setup({ 'secrets/app.yaml': 'db:\n    password: base\n    user: app\n' })
    await branch('feature', [['secrets/app.yaml', 'db.password', 'theirs']])
    await repo.gitOk(['checkout', '-q', 'main'])
    await branch('main', [['secrets/app.yaml', 'db.password', 'ours'], ['secrets/app.yaml', 'db.user', 'main-user']])
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).not.toBe(0)
    const editor = repo.write('../keep-ours.sh', "#!/bin/sh\nawk '/^<<<<<<< /{s=1;next} /^=======$/{s=2;next} /^>>>>>>> /{s=0;next} s!=2{print}' \"$1\" > \"$1.x\" && mv \"$1.x\" \"$1\"\n")
    fs.chmodSync(editor, 0o755)
    await expectOk(await repo.tsops(['git', 'resolve', 'secrets/app.yaml'], { env: { EDITOR: path.resolve(editor) } }), 'resolve')
    expect(parseYaml(await oracle('secrets/app.yaml', 'yaml'))).toEqual({ db: { password: 'ours', user: 'main-user' } })
  })
})
