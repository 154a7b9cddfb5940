/**
 * `tsops groups add` / `groups delete`: the data key is split again over the new set of groups,
 * the values, lastmodified and MAC stay as they are, output to stdout unless -i.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { KEY_SOURCES } from '../../src/keys/registry.js'
import { tempWorkspace } from '../helpers/workspace.js'

type AgeKey = { identity: string; recipient: string }

const { dir } = tempWorkspace('tsops-groups-')
let alice: AgeKey
let bob: AgeKey
let carol: AgeKey

beforeAll(async () => {
  ;[alice, bob, carol] = await Promise.all([generateAgeIdentity(), generateAgeIdentity(), generateAgeIdentity()])
})

function env(keys: AgeKey[]): Record<string, string | undefined> {
  return cleanEnv({ SOPS_AGE_KEY: keys.map((k) => k.identity).join('\n'), XDG_CONFIG_HOME: path.join(dir, 'no-xdg'), GNUPGHOME: path.join(dir, 'no-gnupg') })
}

const PLAIN = 'api_key: s3cr3t\nreplicas: 3\n'

let counter = 0
async function encrypted(...keys: AgeKey[]): Promise<string> {
  const file = path.join(dir, `f${++counter}.yaml`)
  fs.writeFileSync(file, PLAIN)
  const r = await runCli(['encrypt', '--age', keys.map((k) => k.recipient).join(','), '-i', file], { env: env([]), cwd: dir })
  expect(r.code).toBe(0)
  return file
}

/** Everything but the key entries: the values, lastmodified and the MAC must not move. */
function untouched(text: string): string[] {
  return [...(text.match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? []), /lastmodified: .*/.exec(text)?.[0] ?? 'none']
}

/** Recipients per group as written (key_groups, or the single top-level list). */
function groupsOf(text: string): string[][] {
  const meta = text.split('\nsops:\n')[1] ?? ''
  if (!meta.includes('key_groups:')) return [[...meta.matchAll(/recipient: (\S+)/g)].map((m) => m[1]!)]
  return meta
    .split(/\n {8}- age:/)
    .slice(1)
    .map((g) => [...g.matchAll(/recipient: (\S+)/g)].map((m) => m[1]!))
}

async function decryptsWith(file: string, keys: AgeKey[]): Promise<number> {
  const r = await runCli(['decrypt', file], { env: env(keys) })
  if (r.code === 0) expect(r.stdout.toString()).toBe(PLAIN)
  return r.code
}

describe('tsops groups', () => {
  it('add: a second group makes a 2-of-2 file, written to stdout; values, lastmodified and MAC unchanged', async () => {
    const file = await encrypted(alice)
    const before = fs.readFileSync(file, 'utf8')
    const r = await runCli(['groups', 'add', '--file', file, '--age', bob.recipient], { env: env([alice]) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe(before)
    const out = r.stdout.toString()
    expect(untouched(out)).toEqual(untouched(before))
    expect(groupsOf(out)).toEqual([[alice.recipient], [bob.recipient]])
    expect(out).toContain('    shamir_threshold: 2\n')
    expect(out).toMatch(/key_groups:\n {8}- age:\n/)
    expect(out).toMatch(/ {10}hc_vault: \[\]\n/) // sops writes both lists in every group

    const twoOfTwo = path.join(dir, 'two-of-two.yaml')
    fs.writeFileSync(twoOfTwo, out)
    expect(await decryptsWith(twoOfTwo, [alice, bob])).toBe(0)
    expect(await decryptsWith(twoOfTwo, [alice])).toBe(128)
    expect(await decryptsWith(twoOfTwo, [bob])).toBe(128)
  })

  it('add -i with --shamir-secret-sharing-threshold: 2-of-3, any two groups decrypt', async () => {
    const file = await encrypted(alice)
    const before = fs.readFileSync(file, 'utf8')
    expect((await runCli(['groups', 'add', '-i', '-f', file, '--age', bob.recipient], { env: env([alice]) })).code).toBe(0)
    const r = await runCli(['groups', 'add', '-i', '--file', file, '--shamir-secret-sharing-threshold', '2', '--age', carol.recipient], {
      env: env([alice, bob]),
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const after = fs.readFileSync(file, 'utf8')
    expect(untouched(after)).toEqual(untouched(before))
    expect(groupsOf(after)).toEqual([[alice.recipient], [bob.recipient], [carol.recipient]])
    expect(after).toContain('    shamir_threshold: 2\n')
    expect(await decryptsWith(file, [alice, bob])).toBe(0)
    expect(await decryptsWith(file, [bob, carol])).toBe(0)
    expect(await decryptsWith(file, [alice, carol])).toBe(0)
    const one = await runCli(['decrypt', file], { env: env([carol]) })
    expect(one.code).toBe(128)
    expect(one.stderr.replace(/\s+/g, ' ')).toContain('Shamir threshold of 2, but only 1 part(s) were successfully recovered')
  })

  it('delete: removes a group and re-splits; refuses to go below the threshold', async () => {
    const file = await encrypted(alice)
    const before = fs.readFileSync(file, 'utf8')
    for (const [key, holders] of [[bob, [alice]], [carol, [alice, bob]]] as const) {
      const r = await runCli(['groups', 'add', '-i', '-f', file, '--shamir-secret-sharing-threshold', '2', '--age', key.recipient], { env: env([...holders]) })
      expect(r.code).toBe(0)
    }
    const threeGroups = fs.readFileSync(file, 'utf8')

    const r = await runCli(['groups', 'delete', '--file', file, '1'], { env: env([alice, carol]) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe(threeGroups) // stdout only
    const out = r.stdout.toString()
    expect(untouched(out)).toEqual(untouched(before))
    expect(groupsOf(out)).toEqual([[alice.recipient], [carol.recipient]])
    expect(out).toContain('    shamir_threshold: 2\n')

    expect((await runCli(['groups', 'delete', '-i', '--file', file, '1'], { env: env([alice, carol]) })).code).toBe(0)
    const below = await runCli(['groups', 'delete', '-i', '--file', file, '0'], { env: env([alice, carol]) })
    expect(below.code).toBe(1)
    expect(below.stderr).toContain('removing this key group will make the Shamir threshold impossible to satisfy: Shamir threshold is 2, but we only have 1 key groups')
    const twoGroups = fs.readFileSync(file, 'utf8')

    // Lowering the threshold in the same command leaves one group: a plain single-group file.
    const single = await runCli(['groups', 'delete', '-i', '--shamir-secret-sharing-threshold', '1', '--file', file, '0'], { env: env([alice, carol]) })
    expect(single.code).toBe(0)
    const last = fs.readFileSync(file, 'utf8')
    expect(last).not.toBe(twoGroups)
    expect(last).not.toContain('key_groups')
    expect(groupsOf(last)).toEqual([[carol.recipient]])
    expect(await decryptsWith(file, [carol])).toBe(0)
    expect(untouched(last)).toEqual(untouched(before))
  })

  it('reports usage errors clearly', async () => {
    const file = await encrypted(alice)
    // sops reads the --file it was not given: `open : no such file or directory`, exit 2.
    const noFile = await runCli(['groups', 'add', '--age', bob.recipient], { env: env([alice]) })
    expect(noFile.code).toBe(2)
    expect(noFile.stderr).toContain('Error reading file: open : no such file or directory')
    expect(noFile.stderr).toContain('--file (-f)')
    const noKeys = await runCli(['groups', 'add', '--file', file], { env: env([alice]) })
    expect(noKeys.code).toBe(1)
    expect(noKeys.stderr).toContain('the new group has no keys')
    // The hint names every key source's flag (from the key registry).
    for (const { flag } of KEY_SOURCES) expect(noKeys.stderr).toContain(`--${flag.name}`)
    const badIndex = await runCli(['groups', 'delete', '--file', file, '3'], { env: env([alice]) })
    expect(badIndex.code).toBe(1)
    expect(badIndex.stderr).toContain('there is no group 3')
    const onlyGroup = await runCli(['groups', 'delete', '--file', file, '0'], { env: env([alice]) })
    expect(onlyGroup.stderr).toContain('cannot delete the only key group')
    const unknown = await runCli(['groups', 'list', '--file', file], { env: env([alice]) })
    // urfave/cli's words for sops: exit 3.
    expect(unknown.code).toBe(3)
    expect(unknown.stderr).toContain("No help topic for 'list'")
    const noKey = await runCli(['groups', 'add', '--file', file, '--age', bob.recipient], { env: env([bob]) })
    // sops returns this error without an exit code: log.Fatal prints its short form, exit 1.
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toContain('Error getting data key: 0 successful groups required, got 0')
    expect(noKey.stderr).toContain('tsops: hint: Failed to get the data key required to decrypt the SOPS file.')
  })

  it('the environment does not add keys to a new group (SOPS_AGE_RECIPIENTS is for encrypt)', async () => {
    const file = await encrypted(alice)
    const r = await runCli(['groups', 'add', '--file', file, '--age', bob.recipient], {
      env: { ...env([alice]), SOPS_AGE_RECIPIENTS: carol.recipient },
    })
    expect(r.code).toBe(0)
    expect(groupsOf(r.stdout.toString())).toEqual([[alice.recipient], [bob.recipient]])
  })
})
