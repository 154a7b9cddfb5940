// The object name sops gives a published file (publish.go: filepath.Rel or the base name, then
// strings.TrimSuffix of filepath.Ext) and the Vault body of values sops's EmitAsMap leaves as Go
// structs.
import { describe, expect, it } from 'vitest'
import { Comment, TreeMap, TreeSeq } from '../../src/core/tree.js'
import { emitJsonValue } from '../../src/formats/json.js'
import { destinationName, goExt } from '../../src/publish/publish.js'
import { goValue, sameAsStored } from '../../src/publish/vault-values.js'

describe('destination names', () => {
  it('a single file: its base name, whatever the path given', () => {
    expect(destinationName('a/b/app.yaml', '/w', { omitExtensions: false })).toBe('app.yaml')
    expect(destinationName('/abs/app.yaml', '/w', { omitExtensions: true })).toBe('app')
  })

  it('--recursive: the path relative to the directory given; the directory given as a file is "."', () => {
    expect(destinationName('conf/sub/two.env', '/w', { root: './conf/', omitExtensions: false })).toBe('sub/two.env')
    expect(destinationName('conf/sub/two.env', '/w', { root: 'conf', omitExtensions: true })).toBe('sub/two')
    expect(destinationName('one.yaml', '/w', { root: 'one.yaml', omitExtensions: false })).toBe('.')
    expect(destinationName('one.yaml', '/w', { root: 'one.yaml', omitExtensions: true })).toBe('.')
  })

  it("Go's Ext: a leading dot is an extension, a dot in a directory is not, only the last one counts", () => {
    expect(goExt('/w/.env')).toBe('.env')
    expect(goExt('/w/a.d/file')).toBe('')
    expect(goExt('/w/app.enc.yaml')).toBe('.yaml')
    expect(destinationName('.env', '/w', { omitExtensions: true })).toBe('')
    expect(destinationName('app.enc.yaml', '/w', { omitExtensions: true })).toBe('app.enc')
  })
})

describe('Vault values', () => {
  const tree = new TreeMap([
    { key: 'a', value: 'x' },
    new Comment(' top comments are dropped'),
    { key: 'list', value: new TreeSeq([new Comment(' c'), new TreeMap([{ key: 'k', value: 1n }, new Comment(' in', true)]), 'plain']) },
    { key: 'nested', value: new TreeMap([{ key: 'b', value: true }, { key: 'b', value: false }]) },
  ])

  it('maps through maps become objects; a map or a comment in a list keeps its Go struct shape', () => {
    expect(JSON.parse(Buffer.from(emitJsonValue(goValue(tree))).toString())).toEqual({
      a: 'x',
      list: [{ Value: ' c', Inline: false }, [{ Key: 'k', Value: 1 }, { Key: { Value: ' in', Inline: true }, Value: null }], 'plain'],
      nested: { b: false },
    })
  })

  it('only strings, booleans and nulls can equal what Vault holds, as go-cmp sees it', () => {
    const strings = new TreeMap([{ key: 's', value: 'v' }, { key: 'm', value: new TreeMap([{ key: 'n', value: null }]) }, { key: 'l', value: new TreeSeq(['a', true]) }])
    expect(sameAsStored(strings, { s: 'v', m: { n: null }, l: ['a', true] })).toBe(true)
    expect(sameAsStored(strings, { s: 'v', m: { n: null }, l: ['a', true], extra: 'x' })).toBe(false)
    expect(sameAsStored(new TreeMap([{ key: 'n', value: 1n }]), { n: 1 })).toBe(false)
    expect(sameAsStored(new TreeMap([{ key: 'l', value: new TreeSeq([new TreeMap([{ key: 'k', value: 'v' }])]) }]), { l: [{ k: 'v' }] })).toBe(false)
    expect(sameAsStored(strings, null)).toBe(false)
  })
})
