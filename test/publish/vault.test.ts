// `tsops publish` to Vault KV v1 and v2, against the loopback KV server in
// test/helpers/servers/vault-kv.ts (the paths and bodies real sops sends to it are pinned by
// test/sops/publish.sops.test.ts). Vault gets the decrypted values; each secret is read back and
// compared with what `tsops decrypt` gives for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { KV_ROOT_TOKEN, startVaultKvServer, type VaultKvServer } from '../helpers/servers/vault-kv.js'
import { cliWorkspace } from '../helpers/workspace.js'

const ws = cliWorkspace('tsops-publish-vault-')
let vault: VaultKvServer

beforeAll(async () => {
  vault = await startVaultKvServer()
  vault.mount('secret', 2)
  vault.mount('kv', 1)
})
afterAll(() => vault?.close())

function project(config: string): string {
  const dir = fs.mkdtempSync(path.join(ws.dir, 'p-'))
  fs.writeFileSync(path.join(dir, '.sops.yaml'), config.replaceAll('ADDR', vault.url))
  return dir
}

const publish = (dir: string, args: string[], extra: Record<string, string> = {}) =>
  runCli(['publish', ...args], { cwd: dir, env: ws.env({ VAULT_TOKEN: KV_ROOT_TOKEN, HOME: dir, ...extra }) })

describe('publish to Vault KV', () => {
  it('KV v2 (the default, mount secret/): the decrypted values, read first then written under data/', async () => {
    const dir = project('destination_rules:\n  - vault_address: ADDR\n    vault_path: apps/web\n')
    const file = await ws.encrypted('app.yaml', 'db:\n  password: hunter2\n  port: 5432\nratio: 0.5\nenabled: true\ntags: [a, b]\n', dir)
    const logged = vault.log.length
    const r = await publish(dir, ['--yes', 'app.yaml'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const stored = vault.read('secret', 'apps/web/app.yaml')
    expect(stored).toEqual({ db: { password: 'hunter2', port: 5432 }, ratio: 0.5, enabled: true, tags: ['a', 'b'] })
    // What tsops decrypt says the file holds is what Vault now holds.
    const yaml = await import('yaml')
    expect(yaml.parse(await ws.decrypted(file))).toEqual(stored)
    expect(vault.log.slice(logged).map((q) => [q.method, q.path, q.token])).toEqual([
      ['GET', 'secret/data/apps/web/app.yaml', KV_ROOT_TOKEN],
      ['PUT', 'secret/data/apps/web/app.yaml', KV_ROOT_TOKEN],
    ])
  })

  it('KV v1 at another mount, omit_extensions, the address from VAULT_ADDR and the token from ~/.vault-token', async () => {
    const dir = project('destination_rules:\n  - vault_path: team/\n    vault_kv_mount_name: kv\n    vault_kv_version: 1\n    omit_extensions: true\n')
    fs.writeFileSync(path.join(dir, '.vault-token'), `${KV_ROOT_TOKEN}\n`)
    await ws.encrypted('app.env', 'USER=admin\nPASS=s3cr3t\n', dir)
    const r = await publish(dir, ['-y', 'app.env'], { VAULT_ADDR: vault.url, VAULT_TOKEN: '' })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(vault.read('kv', 'team/app')).toEqual({ USER: 'admin', PASS: 's3cr3t' })
  })

  it('unchanged string values are not written again (no new KV v2 version); a number always is, as with sops', async () => {
    const dir = project('destination_rules:\n  - vault_address: ADDR\n    vault_path: same\n')
    await ws.encrypted('s.yaml', 'user: admin\nnested:\n  pass: x\nlist: [a]\n', dir)
    await ws.encrypted('n.yaml', 'count: 1\n', dir)
    for (let i = 0; i < 3; i++) {
      expect((await publish(dir, ['-y', 's.yaml'])).code).toBe(0)
      expect((await publish(dir, ['-y', 'n.yaml'])).code).toBe(0)
    }
    expect(vault.versions('secret', 'same/s.yaml')).toBe(1)
    expect(vault.versions('secret', 'same/n.yaml')).toBe(3)
  })

  it("a map inside a list is stored as sops stores it: Go's encoding of a TreeBranch", async () => {
    const dir = project('destination_rules:\n  - vault_address: ADDR\n    vault_path: quirk\n')
    await ws.encrypted('l.yaml', 'users:\n  - name: ann\n    roles: [admin]\n', dir)
    expect((await publish(dir, ['-y', 'l.yaml'])).code).toBe(0)
    expect(vault.read('secret', 'quirk/l.yaml')).toEqual({ users: [[{ Key: 'name', Value: 'ann' }, { Key: 'roles', Value: ['admin'] }]] })
  })

  it("without a valid token: a warning for the read, Vault's 403 for the write (exit 1)", async () => {
    const dir = project('destination_rules:\n  - vault_address: ADDR\n    vault_path: denied\n')
    await ws.encrypted('app.yaml', 'a: b\n', dir)
    const r = await publish(dir, ['-y', 'app.yaml'], { VAULT_TOKEN: 'hvs.wrong' })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('tsops: warning: Cannot check if destination secret already exists in secret/data/denied/app.yaml. New version will be created even if the data has not been changed.\n')
    expect(r.stderr).toContain(`tsops: error: Error making API request.\n\nURL: PUT ${vault.url}/v1/secret/data/denied/app.yaml\nCode: 403. Errors:\n\n* permission denied\n`)
    expect(vault.read('secret', 'denied/app.yaml')).toBeUndefined()
  })

  it('a file that cannot be decrypted is not published (exit 128, nothing sent)', async () => {
    const dir = project('destination_rules:\n  - vault_address: ADDR\n    vault_path: nokey\n')
    await ws.encrypted('app.yaml', 'a: b\n', dir)
    const logged = vault.log.length
    const r = await publish(dir, ['-y', 'app.yaml'], { SOPS_AGE_KEY: '' })
    expect(r.code).toBe(128)
    expect(vault.log.length).toBe(logged)
  })
})
