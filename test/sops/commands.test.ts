// Every sops command other than encrypt/decrypt, twin against real sops 3.13.2: set, unset,
// rotate, updatekeys, groups, filestatus, exec-env, exec-file, edit, the legacy flags and the
// comment-regex flags. Same exit code, stdout, stderr and files (masked where encrypted); every
// file re-encrypted is decrypted by the other tool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { baseEnv, cleanupTwins, crossDecrypt, expectSame, realAgeKey, realSops, run, runSide, twin, twinRoot, type AgeKey, type Files, type Side } from './harness.js'

let key: AgeKey
let key2: AgeKey
let key3: AgeKey

const PLAIN: Record<string, string> = {
  'e.yaml': 'a: 1\nb:\n  - x\n  - y\nnested:\n  k: v\n',
  'e.json': '{"a": 1, "b": ["x", "y"], "nested": {"k": "v"}}\n',
  'e.env': 'a=1\nb=x\n',
  'e.ini': '[s]\na = 1\nb = x\n',
}
/** PLAIN encrypted once by real sops for `key`. */
const enc: Record<string, Buffer> = {}
/** e.yaml encrypted by real sops with three key groups, threshold 2 (key, key2, key3). */
let grouped: Buffer

async function sopsEncrypt(name: string, content: string, args: string[], files: Files = {}): Promise<Buffer> {
  const dir = twinRoot()
  fs.writeFileSync(path.join(dir, name), content)
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), c)
  const r = await run(realSops(), ['encrypt', ...args, name], { cwd: dir, env: baseEnv(dir) })
  if (r.code !== 0) throw new Error(`sops could not encrypt ${name}: ${r.stderr}`)
  return r.stdout
}

const groupsConfig = () => `creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [${key.recipient}]\n      - age: [${key2.recipient}]\n      - age: [${key3.recipient}]\n`

beforeAll(async () => {
  key = await realAgeKey()
  key2 = await realAgeKey()
  key3 = await realAgeKey()
  for (const [name, content] of Object.entries(PLAIN)) enc[name] = await sopsEncrypt(name, content, ['--age', key.recipient])
  grouped = await sopsEncrypt('e.yaml', PLAIN['e.yaml']!, [], { '.sops.yaml': groupsConfig() })
})
afterAll(cleanupTwins)

const withKey = () => ({ SOPS_AGE_KEY_FILE: key.file })
/** A key file in each twin holding the given identities. */
const keysFile = (keys: AgeKey[]) => (dir: string) => {
  fs.writeFileSync(path.join(dir, 'keys.txt'), keys.map((k) => fs.readFileSync(k.file, 'utf8')).join('\n'))
}
const encFiles = (): Files => ({ ...enc })
const EXT = ['yaml', 'json', 'env', 'ini'] as const

/** Compare, then (when sops succeeded and wrote it) cross-decrypt the file. */
async function same(args: string[], options: Parameters<typeof twin>[1], label: string, file?: string): Promise<void> {
  const t = await twin(args, options)
  expectSame(t, { encryptedFiles: true }, label)
  if (file && t.real.code === 0) await crossDecrypt(t, file)
}

describe('set', () => {
  const CASES: Record<(typeof EXT)[number], [label: string, index: string, value: string][]> = {
    yaml: [
      ['new key', '["new"]', '"value"'],
      ['changed value', '["a"]', '2'],
      ['nested path', '["nested"]["k"]', '{"deep": [1, true, null]}'],
      ['new nested path', '["x"]["y"]["z"]', '"deep"'],
      ['list index', '["b"][1]', '"z"'],
      ['list index past the end', '["b"][5]', '"far"'],
      ['a float', '["f"]', '1.50'],
      ['a big integer', '["big"]', '123456789012345678901'],
    ],
    json: [
      ['new key', '["new"]', '"value"'],
      ['changed value', '["a"]', '2'],
      ['nested path', '["nested"]["k"]', '{"deep": [1, true, null]}'],
      ['list index', '["b"][0]', '"z"'],
    ],
    env: [
      ['new key', '["new"]', '"value"'],
      ['changed value', '["a"]', '"2"'],
      ['a number', '["a"]', '2'],
      ['nested path', '["x"]["y"]', '"deep"'],
    ],
    ini: [
      ['new key in a section', '["s"]["new"]', '"value"'],
      ['changed value', '["s"]["a"]', '"2"'],
      ['new section', '["t"]["k"]', '"v"'],
      ['top-level value', '["top"]', '"v"'],
    ],
  }
  for (const ext of EXT) {
    const file = `e.${ext}`
    it.each(CASES[ext])(`${ext}: %s`, async (label, index, value) => {
      await same(['set', file, index, value], { files: encFiles(), env: withKey() }, `set ${ext} ${label}`, file)
    })
  }

  it.each(EXT)('--value-file (%s)', async (ext) => {
    const index = ext === 'ini' ? '["s"]["a"]' : '["a"]'
    await same(['set', '--value-file', `e.${ext}`, index, 'value.json'], { files: { ...encFiles(), 'value.json': '"from a file"' }, env: withKey() }, `set --value-file ${ext}`, `e.${ext}`)
  })
  it.each(EXT)('--value-stdin (%s)', async (ext) => {
    const index = ext === 'ini' ? '["s"]["a"]' : '["a"]'
    await same(['set', '--value-stdin', `e.${ext}`, index], { files: encFiles(), env: withKey(), input: '"from stdin"' }, `set --value-stdin ${ext}`, `e.${ext}`)
  })
  it.each([
    ['a string with quotes', '["s"]', '"a \\"quoted\\" value"'],
    ['unicode', '["u"]', '"héllo ☃"'],
    ['null', '["n"]', 'null'],
    ['false', '["f"]', 'false'],
    ['a negative number', '["neg"]', '-5'],
    ['an empty map', '["m"]', '{}'],
    ['an empty list', '["l"]', '[]'],
    ['a float with exponent', '["e"]', '1e3'],
    ['a multi-line string', '["ml"]', '"line1\\nline2\\n"'],
  ])('yaml: %s', async (label, index, value) => {
    await same(['set', 'e.yaml', index, value], { files: encFiles(), env: withKey() }, `set yaml ${label}`, 'e.yaml')
  })
  it.each([
    ['a number', '["a"]', '1.5'],
    ['a bool', '["a"]', 'true'],
    ['a multi-line string', '["a"]', '"x\\ny"'],
  ])('dotenv: %s', async (label, index, value) => {
    await same(['set', 'e.env', index, value], { files: encFiles(), env: withKey() }, `set dotenv ${label}`, 'e.env')
  })
  it('--idempotent with a new value writes the file', async () => {
    await same(['set', '--idempotent', 'e.yaml', '["a"]', '5'], { files: encFiles(), env: withKey() }, 'set --idempotent new value', 'e.yaml')
  })
  it('--idempotent with the same nested value leaves the file', async () => {
    await same(['set', '--idempotent', 'e.yaml', '["nested"]["k"]', '"v"'], { files: encFiles(), env: withKey() }, 'set --idempotent same nested')
  })
  it('--value-file of a missing file', async () => {
    await same(['set', '--value-file', 'e.yaml', '["a"]', 'nope.json'], { files: encFiles(), env: withKey() }, 'set --value-file missing')
  })
  it('too few arguments', async () => {
    await same(['set', 'e.yaml', '["a"]'], { files: encFiles(), env: withKey() }, 'set too few arguments')
  })
  it('missing file', async () => {
    await same(['set', 'missing.yaml', '["a"]', '1'], { files: encFiles(), env: withKey() }, 'set missing file')
  })
  it('plain file', async () => {
    await same(['set', 'p.yaml', '["a"]', '1'], { files: { 'p.yaml': 'a: 1\n' }, env: withKey() }, 'set plain file')
  })
  it('global --indent before the command', async () => {
    await same(['--indent', '4', 'set', 'e.json', '["a"]', '2'], { files: encFiles(), env: withKey() }, 'set --indent', 'e.json')
  })
})

describe('unset', () => {
  const CASES: [string, string, string][] = [
    ['yaml key', 'e.yaml', '["a"]'],
    ['yaml nested key', 'e.yaml', '["nested"]["k"]'],
    ['yaml list element', 'e.yaml', '["b"][0]'],
    ['json key', 'e.json', '["nested"]'],
    ['json list element', 'e.json', '["b"][1]'],
    ['dotenv key', 'e.env', '["b"]'],
    ['ini key', 'e.ini', '["s"]["b"]'],
    ['ini section', 'e.ini', '["s"]'],
  ]
  it.each(CASES)('%s', async (label, file, index) => {
    await same(['unset', file, index], { files: encFiles(), env: withKey() }, `unset ${label}`, file)
  })
  it('--idempotent of a present key removes it', async () => {
    await same(['unset', '--idempotent', 'e.yaml', '["a"]'], { files: encFiles(), env: withKey() }, 'unset --idempotent present', 'e.yaml')
  })
  it('--idempotent of a missing nested key', async () => {
    await same(['unset', '--idempotent', 'e.yaml', '["nested"]["zz"]'], { files: encFiles(), env: withKey() }, 'unset --idempotent missing nested')
  })
  it('a list index out of range', async () => {
    await same(['unset', 'e.yaml', '["b"][9]'], { files: encFiles(), env: withKey() }, 'unset index out of range')
  })
  it('missing file', async () => {
    await same(['unset', 'missing.yaml', '["a"]'], { files: encFiles(), env: withKey() }, 'unset missing file')
  })
  it('bad index', async () => {
    await same(['unset', 'e.yaml', 'a'], { files: encFiles(), env: withKey() }, 'unset bad index')
  })
  it('too few arguments', async () => {
    await same(['unset', 'e.yaml'], { files: encFiles(), env: withKey() }, 'unset too few arguments')
  })
})

describe('rotate', () => {
  it.each(EXT)('to stdout (%s)', async (ext) => {
    const t = await twin(['rotate', `e.${ext}`], { files: encFiles(), env: withKey() })
    expectSame(t, { encryptedStdout: true }, `rotate stdout ${ext}`)
  })
  it.each(EXT)('-i (%s)', async (ext) => {
    await same(['rotate', '-i', `e.${ext}`], { files: encFiles(), env: withKey() }, `rotate -i ${ext}`, `e.${ext}`)
  })
  it('--output', async () => {
    await same(['rotate', '--output', 'out.yaml', 'e.yaml'], { files: encFiles(), env: withKey() }, 'rotate --output', 'out.yaml')
  })
  it('--add-age', async () => {
    await same(['rotate', '-i', '--add-age', key2.recipient, 'e.yaml'], { files: encFiles(), env: withKey() }, 'rotate --add-age', 'e.yaml')
  })
  it('--add-age then only the new key decrypts', async () => {
    const t = await twin(['rotate', '-i', '--add-age', key2.recipient, 'e.json'], { files: encFiles(), env: withKey() })
    expectSame(t, { encryptedFiles: true }, 'rotate --add-age json')
    await crossDecrypt({ ...t, env: { ...t.env, SOPS_AGE_KEY_FILE: key2.file } }, 'e.json')
  })
  it('--rm-age of the only key', async () => {
    await same(['rotate', '-i', '--rm-age', key.recipient, 'e.yaml'], { files: encFiles(), env: withKey() }, 'rotate --rm-age only key')
  })
  it('--add-age and --rm-age together', async () => {
    const t = await twin(['rotate', '-i', '--add-age', key2.recipient, '--rm-age', key.recipient, 'e.yaml'], { files: encFiles(), env: withKey() })
    expectSame(t, { encryptedFiles: true }, 'rotate --add-age --rm-age')
    if (t.real.code === 0) await crossDecrypt({ ...t, env: { ...t.env, SOPS_AGE_KEY_FILE: key2.file } }, 'e.yaml')
  })
  it('--rm-age of a key not in the file', async () => {
    await same(['rotate', '-i', '--rm-age', key3.recipient, 'e.yaml'], { files: encFiles(), env: withKey() }, 'rotate --rm-age absent key', 'e.yaml')
  })
  it('--add-age of a key already there: sops writes it twice, tsops once (documented difference)', async () => {
    const t = await twin(['rotate', '-i', '--add-age', key.recipient, 'e.yaml'], { files: encFiles(), env: withKey() })
    expectSame(t, { encryptedFiles: true, files: false }, 'rotate --add-age present key')
    const recipients = (side: Side) => side.files['e.yaml']!.toString().split(`recipient: ${key.recipient}`).length - 1
    expect([recipients(t.real), recipients(t.ours)]).toEqual([2, 1])
    await crossDecrypt(t, 'e.yaml')
  })
  it('a file with key groups', async () => {
    await same(['rotate', '-i', 'g.yaml'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) }, 'rotate key groups', 'g.yaml')
  })
  it('a file with key groups and --add-age', async () => {
    await same(['rotate', '-i', '--add-age', key2.recipient, 'g.yaml'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) }, 'rotate key groups --add-age', 'g.yaml')
  })
  it('missing file', async () => {
    await same(['rotate', 'missing.yaml'], { files: encFiles(), env: withKey() }, 'rotate missing file')
  })
  it('missing file with --add-age', async () => {
    await same(['rotate', '--add-age', key2.recipient, 'missing.yaml'], { files: encFiles(), env: withKey() }, 'rotate missing file --add-age')
  })
  it('plain file', async () => {
    await same(['rotate', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: withKey() }, 'rotate plain file')
  })
  it('no file', async () => {
    await same(['rotate'], { files: encFiles(), env: withKey() }, 'rotate no file')
  })
})

describe('updatekeys', () => {
  const config = (recipients: string[]) => `creation_rules:\n  - age: ${recipients.join(',')}\n`
  it('the config adds a key', async () => {
    await same(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient, key2.recipient]) }, env: withKey() }, 'updatekeys add', 'e.yaml')
  })
  it('the config adds a key (json)', async () => {
    await same(['updatekeys', '-y', 'e.json'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient, key2.recipient]) }, env: withKey() }, 'updatekeys add json', 'e.json')
  })
  it('the config removes a key', async () => {
    const files = { 'g.yaml': grouped, '.sops.yaml': config([key2.recipient]) }
    const t = await twin(['updatekeys', '-y', 'g.yaml'], { files, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) })
    expectSame(t, { encryptedFiles: true }, 'updatekeys groups to one key')
    if (t.real.code === 0) await crossDecrypt({ ...t, env: { ...t.env, SOPS_AGE_KEY_FILE: key2.file } }, 'g.yaml')
  })
  it('the config replaces the key', async () => {
    const t = await twin(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': config([key2.recipient]) }, env: withKey() })
    expectSame(t, { encryptedFiles: true }, 'updatekeys replace')
    if (t.real.code === 0) await crossDecrypt({ ...t, env: { ...t.env, SOPS_AGE_KEY_FILE: key2.file } }, 'e.yaml')
  })
  it('no change', async () => {
    await same(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient]) }, env: withKey() }, 'updatekeys no change')
  })
  it("key groups from the config: tsops takes the rule's shamir_threshold, sops keeps the file's (documented difference)", async () => {
    const t = await twin(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': groupsConfig() }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2, key3]) })
    expectSame(t, { encryptedFiles: true, stdout: false, files: false }, 'updatekeys to key groups')
    // sops: the file had no threshold, so all 3 groups are needed; tsops: the rule's 2 of 3.
    expect(t.ours.stdout.toString()).toBe(t.real.stdout.toString().replace('changes will be made to the file\'s groups:\n', 'changes will be made to the file\'s groups:\n+++ shamir_threshold: 2\n'))
    expect(t.real.files['e.yaml']!.toString()).toContain('shamir_threshold: 3\n')
    expect(t.ours.files['e.yaml']!.toString()).toContain('shamir_threshold: 2\n')
    await crossDecrypt(t, 'e.yaml')
  })
  it('key groups, no change', async () => {
    await same(['updatekeys', '-y', 'g.yaml'], { files: { 'g.yaml': grouped, '.sops.yaml': groupsConfig() }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) }, 'updatekeys key groups no change')
  })
  it('without -y and without a terminal: both fail and write nothing; tsops does not ask (documented difference)', async () => {
    const t = await twin(['updatekeys', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient, key2.recipient]) }, env: withKey() })
    expectSame(t, { stdout: false, stderr: false }, 'updatekeys without -y')
    expect(t.real.stdout.toString()).toBe(`${t.ours.stdout.toString()}Is this okay? (y/n):`)
    expect(t.real.stderr).toMatch(/\nEOF\n$/)
    expect(t.ours.stderr).toContain('standard input is not a terminal')
  })
  it('missing file', async () => {
    await same(['updatekeys', '-y', 'missing.yaml'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient]) }, env: withKey() }, 'updatekeys missing file')
  })
  it('a rule without keys', async () => {
    await same(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': 'creation_rules:\n  - path_regex: e\n' }, env: withKey() }, 'updatekeys rule without keys')
  })
  it('a config without creation rules', async () => {
    await same(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': 'stores:\n  yaml:\n    indent: 2\n' }, env: withKey() }, 'updatekeys no creation rules')
  })
  it('a rule that does not match the file', async () => {
    await same(['updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), '.sops.yaml': `creation_rules:\n  - path_regex: nomatch\n    age: ${key.recipient}\n` }, env: withKey() }, 'updatekeys no matching rule')
  })
  it('several files', async () => {
    await same(['updatekeys', '-y', 'e.yaml', 'e.json'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient, key2.recipient]) }, env: withKey() }, 'updatekeys two files', 'e.json')
  })
  it('several files, one missing', async () => {
    await same(['updatekeys', '-y', 'e.yaml', 'missing.yaml', 'e.env'], { files: { ...encFiles(), '.sops.yaml': config([key.recipient, key2.recipient]) }, env: withKey() }, 'updatekeys one of three missing')
  })
  it('--config before the command', async () => {
    await same(['--config', 'conf/sops.yaml', 'updatekeys', '-y', 'e.yaml'], { files: { ...encFiles(), 'conf/sops.yaml': config([key.recipient, key2.recipient]) }, env: withKey() }, 'updatekeys --config', 'e.yaml')
  })
})

describe('groups', () => {
  it('add --file --age to stdout', async () => {
    const t = await twin(['groups', 'add', '--file', 'e.yaml', '--age', key2.recipient], { files: encFiles(), env: withKey() })
    expectSame(t, { encryptedStdout: true }, 'groups add stdout')
  })
  // Two groups: Shamir with both needed, so the cross checks get both identities.
  it('add -i', async () => {
    await same(['groups', 'add', '--file', 'e.yaml', '-i', '--age', key2.recipient], { files: encFiles(), env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2]) }, 'groups add -i', 'e.yaml')
  })
  it('add -i with a threshold', async () => {
    await same(['groups', 'add', '--file', 'e.json', '-i', '--shamir-secret-sharing-threshold', '2', '--age', key2.recipient], { files: encFiles(), env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2]) }, 'groups add threshold', 'e.json')
  })
  it('add to a file with key groups, -f', async () => {
    await same(['groups', 'add', '-f', 'g.yaml', '-i', '--age', key2.recipient], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2, key3]) }, 'groups add to groups', 'g.yaml')
  })
  it('delete to leave a threshold above the group count', async () => {
    await same(['groups', 'delete', '--file', 'g.yaml', '--shamir-secret-sharing-threshold', '3', '0'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) }, 'groups delete impossible threshold')
  })
  it('delete -i', async () => {
    await same(['groups', 'delete', '--file', 'g.yaml', '-i', '1'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) }, 'groups delete -i', 'g.yaml')
  })
  it('delete to stdout with a threshold', async () => {
    const t = await twin(['groups', 'delete', '--file', 'g.yaml', '--shamir-secret-sharing-threshold', '2', '1'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) })
    expectSame(t, { encryptedStdout: true }, 'groups delete stdout')
  })
  it('delete with a threshold of 1: sops ignores its failed Shamir split and writes the old shares, tsops refuses (documented difference)', async () => {
    const t = await twin(['groups', 'delete', '--file', 'g.yaml', '--shamir-secret-sharing-threshold', '1', '0'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) })
    expect(t.real.code).toBe(0)
    expect(t.real.stdout.toString()).toContain('shamir_threshold: 1\n')
    expect([t.ours.code, t.ours.stdout.length, t.ours.stderr]).toEqual([1, 0, 'Could not generate data key: [could not split data key into parts for Shamir: threshold must be at least 2]\n'])
  })
  it('delete a group index out of range: sops panics, tsops explains (documented difference)', async () => {
    const t = await twin(['groups', 'delete', '--file', 'g.yaml', '-i', '7'], { files: { 'g.yaml': grouped }, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key3]) })
    expect([t.real.code, t.real.stderr.startsWith('panic: runtime error: slice bounds out of range')]).toEqual([2, true])
    expect(t.ours.code).toBe(1)
    expect(t.ours.stderr).toMatch(/^groups delete: the file has 3 key group\(s\) \(0 to 2\); there is no group 7\n$/)
    expect(t.ours.files['g.yaml']!.equals(grouped)).toBe(true)
  })
  it('delete without an index', async () => {
    await same(['groups', 'delete', '--file', 'g.yaml'], { files: { 'g.yaml': grouped }, env: withKey() }, 'groups delete no index')
  })
  it('delete with a bad index', async () => {
    await same(['groups', 'delete', '--file', 'g.yaml', 'x'], { files: { 'g.yaml': grouped }, env: withKey() }, 'groups delete bad index')
  })
  it('add to a missing file', async () => {
    await same(['groups', 'add', '--file', 'missing.yaml', '--age', key2.recipient], { files: encFiles(), env: withKey() }, 'groups add missing file')
  })
  it('delete from a missing file', async () => {
    await same(['groups', 'delete', '--file', 'missing.yaml', '0'], { files: encFiles(), env: withKey() }, 'groups delete missing file')
  })
})

describe('filestatus', () => {
  const plain: Files = { 'p.yaml': PLAIN['e.yaml']!, 'p.json': PLAIN['e.json']!, 'p.env': PLAIN['e.env']!, 'p.ini': PLAIN['e.ini']! }
  it.each(EXT)('encrypted %s', async (ext) => {
    expectSame(await twin(['filestatus', `e.${ext}`], { files: encFiles() }), {}, `filestatus encrypted ${ext}`)
  })
  it.each(EXT)('plain %s', async (ext) => {
    expectSame(await twin(['filestatus', `p.${ext}`], { files: plain }), {}, `filestatus plain ${ext}`)
  })
  it.each([
    ['without a mac', (t: string) => t.replace(/^ {4}mac: .*\n/m, '')],
    ['without a version', (t: string) => t.replace(/^ {4}version: .*\n/m, '')],
    ['with a bad lastmodified', (t: string) => t.replace(/lastmodified: "[^"]*"/, 'lastmodified: "yesterday"')],
    ['with a non-semver version', (t: string) => t.replace(/version: 3\.13\.2/, 'version: abc')],
    ['with an empty sops block', () => 'a: 1\nsops: {}\n'],
  ])('an encrypted file %s', async (label, damage) => {
    expectSame(await twin(['filestatus', 'd.yaml'], { files: { 'd.yaml': damage(enc['e.yaml']!.toString()) } }), {}, `filestatus ${label}`)
  })
  it('--input-type', async () => {
    expectSame(await twin(['filestatus', '--input-type', 'json', 'e.txt'], { files: { 'e.txt': enc['e.json']! } }), {}, 'filestatus --input-type')
  })
  it('missing file', async () => {
    expectSame(await twin(['filestatus', 'missing.yaml'], { files: plain }), {}, 'filestatus missing')
  })
  it('no file', async () => {
    expectSame(await twin(['filestatus'], { files: plain }), {}, 'filestatus no file')
  })
  // (A malformed INI or dotenv file: the parsers' own words differ from sops's, a src/formats matter.)
  it.each([['json', 'bad.json', '{"a": 1,}']])('malformed %s', async (label, name, content) => {
    expectSame(await twin(['filestatus', name], { files: { [name]: content } }), {}, `filestatus malformed ${label}`)
  })
})

describe('exec-env', () => {
  it('a command that prints the variables', async () => {
    expectSame(await twin(['exec-env', 'e.yaml', 'echo "a=$a nested=${nested:-unset}"'], { files: encFiles(), env: withKey() }), {}, 'exec-env yaml')
  })
  it('typed values from JSON', async () => {
    const files = { 'v.json': await sopsEncrypt('v.json', '{"n": 1.5, "i": 42, "t": true, "f": false, "big": 12345678901234567890, "s": "x y", "nul": null}\n', ['--age', key.recipient]) }
    expectSame(await twin(['exec-env', 'v.json', 'echo "n=$n i=$i t=$t f=$f big=$big s=$s nul=[$nul]"'], { files, env: withKey() }), {}, 'exec-env json values')
  })
  it('a dotenv file', async () => {
    expectSame(await twin(['exec-env', 'e.env', 'echo "a=$a b=$b HOME=${HOME:+set}"'], { files: encFiles(), env: withKey() }), {}, 'exec-env env')
  })
  it('--pristine', async () => {
    expectSame(await twin(['exec-env', '--pristine', 'e.env', 'echo "a=$a b=$b HOME=${HOME:-unset}"'], { files: encFiles(), env: withKey() }), {}, 'exec-env --pristine')
  })
  it("the command's exit code", async () => {
    expectSame(await twin(['exec-env', 'e.env', 'exit 7'], { files: encFiles(), env: withKey() }), {}, 'exec-env exit code')
  })
  it.each([
    ['exec-env', 'e.env'],
    ['exec-file', 'e.env'],
  ])('%s: a command killed by a signal: the same words, and 128+N where sops exits 255 (documented difference)', async (command, file) => {
    const t = await twin([command, file, 'kill -TERM $$'], { files: encFiles(), env: withKey() })
    expect([t.real.code, t.real.stderr]).toEqual([255, 'signal: terminated\n'])
    expect([t.ours.code, t.ours.stderr]).toEqual([143, 'signal: terminated\n'])
  })
  it('missing file', async () => {
    expectSame(await twin(['exec-env', 'missing.yaml', 'true'], { files: encFiles(), env: withKey() }), {}, 'exec-env missing')
  })
  it('no command', async () => {
    expectSame(await twin(['exec-env', 'e.yaml'], { files: encFiles(), env: withKey() }), {}, 'exec-env no command')
  })
})

describe('exec-file', () => {
  it('a command that cats {}', async () => {
    expectSame(await twin(['exec-file', 'e.yaml', 'cat {}'], { files: encFiles(), env: withKey() }), {}, 'exec-file cat')
  })
  it('--no-fifo', async () => {
    expectSame(await twin(['exec-file', '--no-fifo', 'e.json', 'cat {}; test -f {} && echo regular'], { files: encFiles(), env: withKey() }), {}, 'exec-file --no-fifo')
  })
  it('--filename', async () => {
    expectSame(await twin(['exec-file', '--filename', 'secrets.env', 'e.env', 'basename {}; cat {}'], { files: encFiles(), env: withKey() }), {}, 'exec-file --filename')
  })
  it('--output-type', async () => {
    expectSame(await twin(['exec-file', '--output-type', 'json', 'e.yaml', 'cat {}'], { files: encFiles(), env: withKey() }), {}, 'exec-file --output-type')
  })
  it("the command's exit code", async () => {
    expectSame(await twin(['exec-file', 'e.yaml', 'exit 3'], { files: encFiles(), env: withKey() }), {}, 'exec-file exit code')
  })
  it('missing file', async () => {
    expectSame(await twin(['exec-file', 'missing.yaml', 'cat {}'], { files: encFiles(), env: withKey() }), {}, 'exec-file missing')
  })
  it('no command', async () => {
    expectSame(await twin(['exec-file', 'e.yaml'], { files: encFiles(), env: withKey() }), {}, 'exec-file no command')
  })
})

describe('more error paths', () => {
  const CASES: [string, string[]][] = [
    ['groups without a subcommand', ['groups']],
    ['groups add without --file', ['groups', 'add', '--age', 'AGE']],
    ['groups with an unknown subcommand', ['groups', 'list']],
    ['exec-env with a nested value', ['exec-env', 'e.yaml', 'true']],
    ['exec-env of a plain file', ['exec-env', 'p.env', 'true']],
    ['exec-file of a plain file', ['exec-file', 'p.env', 'cat {}']],
    ['exec-file --filename outside', ['exec-file', '--filename', '../x', 'e.env', 'cat {}']],
    ['exec-env --same-process --background', ['exec-env', '--background', '--same-process', 'e.env', 'true']],
    ['unset of a plain file', ['unset', 'p.env', '["a"]']],
    ['rotate -i and --output', ['rotate', '-i', '--output', 'x.yaml', 'e.yaml']],
    ['set --value-file and --value-stdin', ['set', '--value-file', '--value-stdin', 'e.yaml', '["a"]']],
    ['set a nested path through a string', ['set', 'e.yaml', '["nested"]["k"]["x"]', '1']],
    ['filestatus of a directory', ['filestatus', 'dir']],
    ['set on a directory', ['set', 'dir', '["a"]', '1']],
    ['an int flag with a bad value', ['groups', 'delete', '--file', 'e.yaml', '--shamir-secret-sharing-threshold', 'x', '0']],
    ['an int flag with a bad value (global)', ['--indent', 'four', 'decrypt', 'e.yaml']],
    ['exec-file --background', ['exec-file', '--background', 'e.env', 'cat {}']],
  ]
  it.each(CASES)('%s', async (label, args) => {
    const t = await twin(args.map((a) => a.replaceAll('AGE', key.recipient)), { files: { ...encFiles(), 'p.env': 'a=1\n', 'dir/x.yaml': 'a: 1\n', '.sops.yaml': `creation_rules:\n  - age: ${key.recipient}\n` }, env: withKey() })
    // stdout: usage texts are tsops's own; sops's --background command prints after sops has exited.
    const ownStdout = label.includes('flag') || label.includes('subcommand') || label.includes('background')
    expectSame(t, { encryptedFiles: true, stdout: !ownStdout }, `error: ${label}`)
  })
  // Where sops writes a file that cannot be decrypted, panics, or silently does nothing, tsops
  // refuses with an explanation (docs/migrating-from-sops.md).
  const refused = async (args: string[], sopsCode: number, sopsSays: RegExp, oursSays: string) => {
    const t = await twin(args, { files: { ...encFiles(), 'dir/x.yaml': enc['e.yaml']!, '.sops.yaml': `creation_rules:\n  - age: ${key.recipient}\n` }, env: withKey() })
    expect([t.real.code, sopsSays.test(t.real.stdout.toString() + t.real.stderr)], t.real.stderr).toEqual([sopsCode, true])
    expect(t.ours.code).not.toBe(0)
    expect(t.ours.stdout.length).toBe(0)
    expect(t.ours.stderr).toBe(oursSays)
    expect(t.ours.files['e.yaml']!.equals(enc['e.yaml']!)).toBe(true)
  }
  it('groups add without keys: sops writes a group without keys (and a file it cannot decrypt)', async () => {
    await refused(['groups', 'add', '--file', 'e.yaml'], 0, /- age: \[\]\n/, 'groups add: the new group has no keys\n')
  })
  it('groups add with a threshold above the group count: sops ignores its failed Shamir split and writes the file', async () => {
    await refused(['groups', 'add', '--file', 'e.yaml', '--shamir-secret-sharing-threshold', '5', '--age', key2.recipient], 0, /shamir_threshold: 5\n/, 'Could not generate data key: [could not split data key into parts for Shamir: parts cannot be less than threshold]\n')
  })
  it('groups delete of the only group: sops writes a file without any master key', async () => {
    await refused(['groups', 'delete', '--file', 'e.yaml', '0'], 0, /^(?![\s\S]*recipient)[\s\S]*sops:\n {4}lastmodified/, 'groups delete: cannot delete the only key group: the file would have no master key\n')
  })
  it('set with an index on a map: sops changes nothing but lastmodified and the MAC', async () => {
    await refused(['set', 'e.yaml', '["nested"][0]', '1'], 0, /^$/, 'Invalid set index format: [0] is an index, but the value there is a map\n')
  })
  it('unset with a key on a list: sops panics', async () => {
    await refused(['unset', 'e.yaml', '["b"]["x"]'], 2, /^panic: interface conversion/, 'Unsupported key "x" for a list: use an integer index\n')
  })
  it('updatekeys of a directory: sops refuses, tsops updates the files the creation rules match in it (a tsops addition)', async () => {
    const t = await twin(['updatekeys', '-y', 'dir'], { files: { 'dir/x.yaml': enc['e.yaml']!, '.sops.yaml': `creation_rules:\n  - age: ${key.recipient},${key2.recipient}\n` }, env: withKey() })
    expect([t.real.code, t.real.stderr]).toEqual([1, "can't operate on a directory\n"])
    expect(t.ours.code).toBe(0)
    expect(t.ours.files['dir/x.yaml']!.toString()).toContain(key2.recipient)
  })
  it.each([
    ['encrypted binary', 'e.bin'],
    ['plain binary', 'p.bin'],
  ])('filestatus of a %s file', async (label, name) => {
    const files = { 'p.bin': Buffer.from([1, 2, 3]), 'e.bin': await sopsEncrypt('x.bin', 'bytes\n', ['--age', key.recipient]) }
    expectSame(await twin(['filestatus', name], { files }), {}, `filestatus ${label}`)
  })
})

describe('more flags and environment', () => {
  const CASES: [string, string[], Record<string, string>, string | undefined][] = [
    ['set the same value without --idempotent', ['set', 'e.yaml', '["a"]', '1'], {}, 'e.yaml'],
    ['rotate --filename-override', ['rotate', '--filename-override', 'x.json', 'j.txt'], {}, undefined],
    ['updatekeys --input-type', ['updatekeys', '-y', '--input-type', 'yaml', 'e.txt'], {}, undefined],
    ['edit of a new file with SOPS_AGE_RECIPIENTS', ['edit', 'new.yaml'], { SOPS_AGE_RECIPIENTS: 'AGE2' }, 'new.yaml'],
    ['encrypt --age overrides SOPS_AGE_RECIPIENTS', ['encrypt', '--age', 'AGE2', '--output', 'out.yaml', 'p.yaml'], { SOPS_AGE_RECIPIENTS: 'AGE1' }, 'out.yaml'],
    ['groups add ignores SOPS_AGE_RECIPIENTS', ['groups', 'add', '--file', 'e.yaml', '-i', '--age', 'AGE2'], { SOPS_AGE_RECIPIENTS: 'AGE1' }, undefined],
    ['exec-env --same-process', ['exec-env', '--same-process', 'e.env', 'echo "a=$a"'], {}, undefined],
    ['SOPS_DECRYPTION_ORDER for set', ['set', 'e.yaml', '["a"]', '2'], { SOPS_DECRYPTION_ORDER: 'pgp,age' }, 'e.yaml'],
    ['a bad --decryption-order for exec-env', ['exec-env', '--decryption-order', 'nope', 'e.env', 'true'], {}, undefined],
    ['--config from SOPS_CONFIG for updatekeys', ['updatekeys', '-y', 'e.json'], { SOPS_CONFIG: '$DIR/conf/sops.yaml' }, 'e.json'],
  ]
  it.each(CASES)('%s', async (label, args, env, file) => {
    const sub = (a: string) => a.replaceAll('AGE1', key.recipient).replaceAll('AGE2', key2.recipient)
    const config = `creation_rules:\n  - age: ${key.recipient},${key2.recipient}\n`
    const files = { ...encFiles(), 'e.txt': enc['e.yaml']!, 'j.txt': enc['e.json']!, 'p.yaml': 'a: 1\n', 'ed.sh': EDIT_SCRIPT, 'conf/sops.yaml': config, ...(label.includes('updatekeys --input') ? { '.sops.yaml': config } : {}) }
    const t = await twin(args.map(sub), { files, env: { ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, sub(v)])), EDITOR: 'sh $DIR/ed.sh', SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2]) })
    expectSame(t, { encryptedFiles: true, encryptedStdout: true }, label)
    if (file && t.real.code === 0) await crossDecrypt(t, file)
  })
})

describe('binary and multi-document files', () => {
  let bin: Buffer
  let multi: Buffer
  beforeAll(async () => {
    bin = await sopsEncrypt('b.bin', 'some bytes\n', ['--age', key.recipient])
    multi = await sopsEncrypt('m.yaml', 'a: 1\n---\nb: 2\n---\nc: [3]\n', ['--age', key.recipient])
  })
  const CASES: [string, string[], string][] = [
    ['set the data of a binary file', ['set', 'b.bin', '["data"]', '"new bytes"'], 'b.bin'],
    ['set another key in a binary file', ['set', 'b.bin', '["other"]', '"x"'], 'b.bin'],
    ['unset the data of a binary file', ['unset', 'b.bin', '["data"]'], 'b.bin'],
    ['rotate a binary file', ['rotate', '-i', 'b.bin'], 'b.bin'],
    ['set in a multi-document file', ['set', 'm.yaml', '["a"]', '9'], 'm.yaml'],
    ['unset in a multi-document file', ['unset', 'm.yaml', '["a"]'], 'm.yaml'],
    ['rotate a multi-document file', ['rotate', '-i', 'm.yaml'], 'm.yaml'],
    ['exec-env of a multi-document file', ['exec-env', 'm.yaml', 'echo "$a $b"'], 'm.yaml'],
    ['exec-file of a binary file', ['exec-file', 'b.bin', 'cat {}'], 'b.bin'],
    ['groups add to a binary file', ['groups', 'add', '-i', '--file', 'b.bin', '--age', 'AGE2'], 'b.bin'],
    ['updatekeys of a binary file', ['updatekeys', '-y', 'b.bin'], 'b.bin'],
  ]
  it.each(CASES)('%s', async (label, args, file) => {
    const files = { 'b.bin': bin, 'm.yaml': multi, '.sops.yaml': `creation_rules:\n  - age: ${key.recipient},${key2.recipient}\n` }
    const t = await twin(args.map((a) => a.replace('AGE2', key2.recipient)), { files, env: { SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2]) })
    expectSame(t, { encryptedFiles: true }, label)
    // Without its `data` a binary file decrypts only to another format.
    const decryptArgs = label.startsWith('unset the data') ? ['--output-type', 'json'] : []
    if (t.real.code === 0 && args[0] !== 'exec-env' && args[0] !== 'exec-file') await crossDecrypt(t, file, decryptArgs)
  })
})

describe('format flags on the rewriting commands', () => {
  const CASES: [string, string[], string | undefined, string][] = [
    ['rotate --output-type json', ['rotate', '--output-type', 'json', 'e.yaml'], undefined, 'json'],
    ['set --input-type json of a .txt', ['set', '--input-type', 'json', 'j.txt', '["a"]', '7'], 'j.txt', 'json'],
    ['set --output-type json', ['set', '--output-type', 'json', 'e.yaml', '["a"]', '7'], 'e.yaml', 'json'],
    ['filestatus --input-type yaml of a json file', ['filestatus', '--input-type', 'yaml', 'e.json'], undefined, 'yaml'],
  ]
  it.each(CASES)('%s', async (label, args, file, type) => {
    const files = { ...encFiles(), 'e.txt': enc['e.yaml']!, 'j.txt': enc['e.json']! }
    const t = await twin(args, { files, env: withKey() })
    expectSame(t, { encryptedFiles: true, encryptedStdout: true }, label)
    if (file && t.real.code === 0) await crossDecrypt(t, file, ['--input-type', type, '--output-type', type])
  })

  // sops takes the output format from the file name alone: a name that says nothing (.txt) means
  // its binary store, whose encrypted form is JSON. tsops keeps the --input-type there.
  it.each([
    ['rotate', ['rotate', '-i', '--input-type', 'yaml', 'e.txt']],
    ['unset', ['unset', '--input-type', 'yaml', 'e.txt', '["a"]']],
  ])('%s --input-type yaml of a .txt: sops rewrites the file as JSON, tsops keeps YAML (documented difference)', async (_label, args) => {
    const t = await twin(args, { files: { 'e.txt': enc['e.yaml']! }, env: withKey() })
    expectSame(t, { files: false }, `${args[0]} --input-type of a .txt`)
    expect(t.real.files['e.txt']!.toString()).toMatch(/^\{\n\t"/)
    expect(t.ours.files['e.txt']!.toString()).toMatch(/^(a: ENC\[|b:\n)/)
    for (const side of [t.real, t.ours]) {
      const type = side === t.real ? 'json' : 'yaml'
      const r = await runSide('real', ['decrypt', '--input-type', type, '--output-type', 'yaml', 'e.txt'], { cwd: side.dir, env: baseEnv(path.join(t.root, 'home'), withKey()) })
      expect(r.code, r.stderr).toBe(0)
    }
  })
  it('exec-file --input-type yaml of a .txt: sops fails to write the plaintext as binary, tsops gives it as YAML (documented difference)', async () => {
    const t = await twin(['exec-file', '--input-type', 'yaml', 'e.txt', 'cat {}'], { files: { 'e.txt': enc['e.yaml']! }, env: withKey() })
    expect([t.real.code, t.real.stderr.startsWith('Error dumping file: error emitting binary store: no binary data found in tree')]).toEqual([4, true])
    expect([t.ours.code, t.ours.stdout.toString()]).toEqual([0, 'a: 1\nb:\n    - x\n    - "y"\nnested:\n    k: v\n'])
  })
  it('a flag the subcommand does not have: sops fails (exit 1), tsops accepts it (documented difference)', async () => {
    const t = await twin(['exec-env', '--input-type', 'dotenv', 'e.txt', 'echo $a'], { files: { 'e.txt': enc['e.env']! }, env: withKey() })
    expect([t.real.code, t.real.stderr]).toEqual([1, expect.stringContaining('level=fatal msg="flag provided but not defined: -input-type"')])
    expect([t.ours.code, t.ours.stdout.toString()]).toEqual([0, '1\n'])
  })
})

describe('comment-regex flags', () => {
  const input = 'a: 1 # secret\nb: 2\n# secret\nc: 3\n'
  it.each([
    ['encrypted', '--encrypted-comment-regex'],
    ['unencrypted', '--unencrypted-comment-regex'],
  ])('the encrypt subcommand ignores --%s-comment-regex', async (label, flag) => {
    await same([flag, 'secret', 'encrypt', '--age', key.recipient, '--output', 'out.yaml', 'in.yaml'], { files: { 'in.yaml': input }, env: withKey() }, `encrypt ignores ${label} comment regex`, 'out.yaml')
  })
  it.each([
    ['encrypted', '--encrypted-comment-regex'],
    ['unencrypted', '--unencrypted-comment-regex'],
  ])('the legacy -e honours --%s-comment-regex', async (label, flag) => {
    await same([flag, 'secret', '-e', '--age', key.recipient, '--output', 'out.yaml', 'in.yaml'], { files: { 'in.yaml': input }, env: withKey() }, `-e honours ${label} comment regex`, 'out.yaml')
  })
  it.each([
    ['--unencrypted-suffix', '_u'],
    ['--encrypted-regex', '^b'],
  ])('a rule flag %s before the encrypt command word is ignored, after the file it counts', async (flag, value) => {
    const files = { 'in.yaml': 'a_u: 1\nb: 2\nc: 3\n' }
    await same([flag, value, 'encrypt', '--age', key.recipient, '--output', 'out.yaml', 'in.yaml'], { files, env: withKey() }, `encrypt ignores global ${flag}`, 'out.yaml')
    await same(['encrypt', '--age', key.recipient, '--output', 'out.yaml', 'in.yaml', flag, value], { files, env: withKey() }, `encrypt honours trailing ${flag}`, 'out.yaml')
    await same([flag, value, '-e', '--age', key.recipient, '--output', 'out.yaml', 'in.yaml'], { files, env: withKey() }, `-e honours global ${flag}`, 'out.yaml')
  })
  it('the edit subcommand ignores --encrypted-comment-regex for a new file', async () => {
    await same(['--encrypted-comment-regex', 'secret', 'edit', '--age', key.recipient, 'new.yaml'], { files: { 'ed.sh': EDIT_SCRIPT }, env: { EDITOR: 'sh $DIR/ed.sh', ...withKey() } }, 'edit ignores comment regex', 'new.yaml')
  })
})

describe('warnings sops prints through its logger', () => {
  it.each([
    ['--unencrypted-suffix', '_u'],
    ['--encrypted-suffix', '_e'],
    ['--encrypted-regex', '^a'],
    ['--unencrypted-regex', '^a'],
  ])('a rule flag %s with a binary file', async (flag, value) => {
    await same(['encrypt', flag, value, '--age', key.recipient, '--output', 'out.bin', 'blob.bin'], { files: { 'blob.bin': Buffer.from([0, 1, 2, 250]) }, env: withKey() }, `binary ${flag}`, 'out.bin')
  })
  it('a .sops.yaml rule with a binary file, and the legacy -e with a comment regex', async () => {
    const config = `creation_rules:\n  - age: ${key.recipient}\n    encrypted_regex: '^a'\n`
    await same(['-e', '--output', 'out.bin', 'blob.bin'], { files: { 'blob.bin': Buffer.from('bytes\n'), '.sops.yaml': config }, env: withKey() }, 'binary config rule', 'out.bin')
    await same(['--encrypted-comment-regex', 'x', '-e', '--age', key.recipient, '--output', 'out.bin', 'blob.bin'], { files: { 'blob.bin': Buffer.from('bytes\n') }, env: withKey() }, 'binary comment regex', 'out.bin')
  })
  it('encrypt with more than one file', async () => {
    const t = await twin(['encrypt', '--age', key.recipient, 'p.yaml', 'q.yaml'], { files: { 'p.yaml': 'a: 1\n', 'q.yaml': 'b: 2\n' }, env: withKey() })
    expectSame(t, { encryptedStdout: true }, 'encrypt two files')
  })
  it('encrypt with an ignored argument that looks like a flag', async () => {
    const t = await twin(['encrypt', '--age', key.recipient, 'p.yaml', '--', '-x', 'q.yaml', '--late'], { files: { 'p.yaml': 'a: 1\n' }, env: withKey() })
    expectSame(t, { encryptedStdout: true }, 'encrypt flag-like extra argument')
  })
  it('edit with more than one file', async () => {
    await same(['edit', 'e.yaml', 'other.yaml'], { files: { ...encFiles(), 'ed.sh': EDIT_SCRIPT }, env: { EDITOR: 'sh $DIR/ed.sh', ...withKey() } }, 'edit two files', 'e.yaml')
  })
})

describe('legacy flags', () => {
  it('-d', async () => {
    expectSame(await twin(['-d', 'e.yaml'], { files: encFiles(), env: withKey() }), {}, 'legacy -d')
  })
  it('-e', async () => {
    const t = await twin(['-e', '--age', key.recipient, 'p.json'], { files: { 'p.json': PLAIN['e.json']! }, env: withKey() })
    expectSame(t, { encryptedStdout: true }, 'legacy -e')
  })
  it('-i -e', async () => {
    await same(['-i', '-e', '--age', key.recipient, 'p.env'], { files: { 'p.env': PLAIN['e.env']! }, env: withKey() }, 'legacy -i -e', 'p.env')
  })
  it('-r', async () => {
    const t = await twin(['-r', 'e.yaml'], { files: encFiles(), env: withKey() })
    expectSame(t, { encryptedStdout: true }, 'legacy -r')
  })
  it('-r -i', async () => {
    await same(['-r', '-i', 'e.ini'], { files: encFiles(), env: withKey() }, 'legacy -r -i', 'e.ini')
  })
  it('-d -i', async () => {
    expectSame(await twin(['-d', '-i', 'e.json'], { files: encFiles(), env: withKey() }), {}, 'legacy -d -i')
  })
  it("--set '[\"a\"] 1'", async () => {
    await same(['--set', '["a"] 5', 'e.yaml'], { files: encFiles(), env: withKey() }, 'legacy --set', 'e.yaml')
  })
  it('--set with a nested path and a JSON object', async () => {
    await same(['--set', '["nested"]["k"] {"x": [1, 2]}', 'e.json'], { files: encFiles(), env: withKey() }, 'legacy --set nested', 'e.json')
  })
  it('--set with a bad format', async () => {
    await same(['--set', 'nope', 'e.yaml'], { files: encFiles(), env: withKey() }, 'legacy --set bad format')
  })
  it.each([
    ['-r of a missing file', ['-r', 'missing.yaml']],
    ['-e of a missing file', ['-e', '--age', 'AGE', 'missing.yaml']],
    ['-r --add-age of a missing file', ['-r', '--add-age', 'AGE', 'missing.yaml']],
    ['--set on a missing file', ['--set', '["a"] 1', 'missing.yaml']],
    ['-i without a file', ['-i', '-d']],
    ['-i and --output', ['-d', '-i', '--output', 'x', 'e.yaml']],
    ['-e of two files', ['-e', '--age', 'AGE', 'p.yaml', 'q.yaml']],
    ['-r --rm-age of the only key', ['-r', '--rm-age', 'AGE', 'e.yaml']],
    ['--set with --output', ['--set', '["a"] 3', '--output', 'out.yaml', 'e.yaml']],
    ['--set with -i', ['--set', '["a"] 3', '-i', 'e.yaml']],
    ['-e and -d together', ['-e', '-d', 'e.yaml']],
    ['-r with --output', ['-r', '--output', 'out.yaml', 'e.yaml']],
  ])('%s', async (label, args) => {
    const t = await twin(args.map((a) => a.replaceAll('AGE', key.recipient)), { files: { ...encFiles(), 'p.yaml': 'a: 1\n', 'q.yaml': 'b: 1\n' }, env: withKey() })
    expectSame(t, { encryptedFiles: true, encryptedStdout: true }, `legacy ${label}`)
  })
  it('-d of a missing file', async () => {
    expectSame(await twin(['-d', 'missing.yaml'], { files: encFiles(), env: withKey() }), {}, 'legacy -d missing')
  })
  it('-s -d (show master keys is an edit flag)', async () => {
    expectSame(await twin(['-s', '-d', 'e.yaml'], { files: encFiles(), env: withKey() }), {}, 'legacy -s -d')
  })
  it('unknown flag before the command', async () => {
    expectSame(await twin(['--no-such-flag', 'decrypt', 'e.yaml'], { files: encFiles(), env: withKey() }), { stdout: false }, 'unknown global flag')
  })
  it('unknown command flag', async () => {
    expectSame(await twin(['set', '--bogus', 'e.yaml', '["a"]', '1'], { files: encFiles(), env: withKey() }), { stdout: false }, 'unknown set flag')
  })
})

/** An editor that rewrites the file: `a` becomes 42 and a line is added, deterministically. */
const EDIT_SCRIPT = `#!/bin/sh
sed -i -e 's/^a: .*/a: 42/' "$1"
printf 'added: yes # secret\\n' >> "$1"
`

describe('edit', () => {
  const editEnv = (editor: string, name = 'EDITOR') => ({ [name]: `sh $DIR/${editor}`, ...withKey() })
  it('EDITOR rewrites the file', async () => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': EDIT_SCRIPT }, env: editEnv('ed.sh') }, 'edit EDITOR', 'e.yaml')
  })
  it('SOPS_EDITOR wins over EDITOR', async () => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': EDIT_SCRIPT }, env: { ...editEnv('ed.sh', 'SOPS_EDITOR'), EDITOR: 'false' } }, 'edit SOPS_EDITOR', 'e.yaml')
  })
  it('the legacy bare form', async () => {
    await same(['e.yaml'], { files: { ...encFiles(), 'ed.sh': EDIT_SCRIPT }, env: editEnv('ed.sh') }, 'edit legacy', 'e.yaml')
  })
  it('an editor that changes nothing', async () => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': '#!/bin/sh\ntrue\n' }, env: editEnv('ed.sh') }, 'edit unchanged')
  })
  it.each([
    ['not found', 'no-such-editor-xyz'],
    ['an unterminated quote', 'vi "unterminated'],
    ['not executable', '$DIR/ed.sh'],
    ['a missing path', '$DIR/nope/ed.sh'],
  ])('an editor that is %s', async (_label, editor) => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': EDIT_SCRIPT }, env: { EDITOR: editor, ...withKey() } }, `edit editor ${_label}`)
  })
  it('an editor that fails', async () => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': '#!/bin/sh\nexit 3\n' }, env: editEnv('ed.sh') }, 'edit editor fails')
  })
  // Without a terminal sops reads a byte of stdin (none) and reopens the editor.
  const fixesSecondTime = (invalid: string, valid: string) => `#!/bin/sh
if [ -e "$(dirname "$0")/fixed" ]; then printf '${valid}' > "$1"; else touch "$(dirname "$0")/fixed"; printf '${invalid}' > "$1"; fi
`
  it('an editor that writes invalid JSON, then fixes it', async () => {
    await same(['edit', 'e.json'], { files: { ...encFiles(), 'ed.sh': fixesSecondTime('{"a": 1,}', '{"a": "fixed"}') }, env: editEnv('ed.sh') }, 'edit invalid json then fixed', 'e.json')
  })
  it('an editor that empties the file, then fixes it', async () => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': fixesSecondTime('', 'a: fixed\\n') }, env: editEnv('ed.sh') }, 'edit emptied then fixed', 'e.yaml')
  })
  it('an editor that writes a top-level sops key, then fixes it', async () => {
    await same(['edit', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': fixesSecondTime('sops: 1\\n', 'a: fixed\\n') }, env: editEnv('ed.sh') }, 'edit sops key then fixed', 'e.yaml')
  })
  it('an editor that never writes a valid file: tsops gives up after 5 rounds where sops would loop forever (documented difference)', async () => {
    const dir = twinRoot()
    fs.writeFileSync(path.join(dir, 'e.json'), enc['e.json']!)
    fs.writeFileSync(path.join(dir, 'ed.sh'), `#!/bin/sh\necho run >> "$(dirname "$0")/runs"\nprintf '{"a": 1,}' > "$1"\n`)
    const r = await runSide('ours', ['edit', 'e.json'], { cwd: dir, env: baseEnv(dir, { EDITOR: `sh ${dir}/ed.sh`, ...withKey() }) })
    expect(r.code).toBe(2)
    expect(fs.readFileSync(path.join(dir, 'runs'), 'utf8')).toBe('run\n'.repeat(6))
    expect(r.stderr.split('\n').filter((l) => l.includes('level=error')).length).toBe(5)
    expect(r.stderr).toMatch(/\nCould not load tree, probably due to invalid syntax: Error unmarshalling file: Could not unmarshal input data: invalid character '}' looking for beginning of object key string\n$/)
    expect(fs.readFileSync(path.join(dir, 'e.json')).equals(enc['e.json']!)).toBe(true)
  })
  it('a new file with a config', async () => {
    await same(['edit', 'new.yaml'], { files: { 'ed.sh': EDIT_SCRIPT, '.sops.yaml': `creation_rules:\n  - age: ${key.recipient}\n` }, env: editEnv('ed.sh') }, 'edit new file', 'new.yaml')
  })
  it.each(['json', 'env', 'ini'])('a new %s file with --age', async (ext) => {
    const script = `#!/bin/sh\nsed -i -e 's/example_value/edited/' "$1"\n`
    await same(['edit', '--age', key.recipient, `new.${ext}`], { files: { 'ed.sh': script }, env: editEnv('ed.sh') }, `edit new ${ext}`, `new.${ext}`)
  })
  it('a new file left as it is', async () => {
    await same(['edit', '--age', key.recipient, 'new.yaml'], { files: { 'ed.sh': '#!/bin/sh\ntrue\n' }, env: editEnv('ed.sh') }, 'edit new unchanged')
  })
  it('a file with key groups', async () => {
    await same(['edit', 'g.yaml'], { files: { 'g.yaml': grouped, 'ed.sh': EDIT_SCRIPT }, env: { EDITOR: 'sh $DIR/ed.sh', SOPS_AGE_KEY_FILE: '$DIR/keys.txt' }, prepare: keysFile([key, key2, key3]) }, 'edit key groups', 'g.yaml')
  })
  it('a new file without keys', async () => {
    await same(['edit', 'new.yaml'], { files: { 'ed.sh': EDIT_SCRIPT }, env: editEnv('ed.sh') }, 'edit new file no keys')
  })
  it('-s shows the master keys to the editor; sops then drops the edit, tsops keeps it (documented difference)', async () => {
    const script = `#!/bin/sh\ngrep -c 'BEGIN AGE ENCRYPTED FILE' "$1" >&2\nsed -i -e 's/^a: .*/a: 43/' "$1"\n`
    const t = await twin(['edit', '-s', 'e.yaml'], { files: { ...encFiles(), 'ed.sh': script }, env: editEnv('ed.sh') })
    expectSame(t, { encryptedFiles: true }, 'edit -s')
    // runEditorUntilOk replaces only its own copy of the tree: sops re-encrypts the file as it was.
    const decrypted = async (side: 'real' | 'ours', dir: string) => (await runSide(side, ['decrypt', '--extract', '["a"]', 'e.yaml'], { cwd: dir, env: baseEnv(path.join(t.root, 'home'), withKey()) })).stdout.toString().trim()
    expect([await decrypted('real', t.real.dir), await decrypted('real', t.ours.dir)]).toEqual(['1', '43'])
  })

})

describe('-i in place', () => {
  it.each(EXT)('decrypt -i then encrypt -i (%s)', async (ext) => {
    const file = `e.${ext}`
    const t = await twin(['decrypt', '-i', file], { files: encFiles(), env: withKey() })
    expectSame(t, {}, `decrypt -i ${ext}`)
    expect(t.ours.files[file]!.toString()).not.toContain('ENC[')
    await same(['encrypt', '-i', '--age', key.recipient, file], { files: { [file]: t.real.files[file]! }, env: withKey() }, `encrypt -i ${ext}`, file)
  })
})
