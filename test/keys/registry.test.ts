import { describe, expect, it } from 'vitest'
import { DuplicateDecryptionKeyTypeError } from '../../src/core/errors.js'
import {
  DEFAULT_DECRYPTION_ORDER,
  KEY_PROVIDERS,
  KEY_TYPES,
  isKeyType,
  keyIdOf,
  keyProvider,
  keySourceFromEntry,
  keySourceFromSpec,
  keySourcesFromList,
  parseDecryptionOrder,
  resolveDecryptionOrder,
  providerForMetadataField,
  sortByDecryptionOrder,
  splitKeyList,
} from '../../src/keys/registry.js'
import { KeyUnwrapError, type KeyType } from '../../src/keys/types.js'

describe('key registry', () => {
  it('lists every type once, in sops\'s metadata group order', () => {
    expect(KEY_TYPES).toEqual(['kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'pgp', 'age'])
    expect(new Set(KEY_PROVIDERS.map((p) => p.metadataField)).size).toBe(KEY_PROVIDERS.length)
    expect(isKeyType('age')).toBe(true)
    expect(isKeyType('nope')).toBe(false)
  })

  it('knows the CLI flags, env vars and config fields of age and pgp', () => {
    expect(keyProvider('age')).toMatchObject({ flag: { name: 'age', short: 'a', env: 'SOPS_AGE_RECIPIENTS' }, config: { field: 'age', groupField: 'age' }, metadataField: 'age' })
    expect(keyProvider('pgp')).toMatchObject({ flag: { name: 'pgp', short: 'p', env: 'SOPS_PGP_FP' }, config: { field: 'pgp', groupField: 'pgp' }, metadataField: 'pgp' })
    expect(providerForMetadataField('azure_kv')?.type).toBe('azure_kv')
    expect(providerForMetadataField('sops')).toBeUndefined()
  })

  it('derives display ids like sops\'s ToString', () => {
    expect(keyIdOf({ type: 'age', fields: { recipient: 'age1x', enc: '' } })).toBe('age1x')
    expect(keyIdOf({ type: 'pgp', fields: { fp: 'ABC', enc: '' } })).toBe('ABC')
    expect(keyIdOf({ type: 'azure_kv', fields: { vault_url: 'https://v.vault.azure.net', name: 'k', version: '1' } })).toBe(
      'https://v.vault.azure.net/keys/k/1',
    )
    expect(keyIdOf({ type: 'hc_vault', fields: { vault_address: 'https://h:8200', engine_path: 'transit', key_name: 'k' } })).toBe(
      'https://h:8200/v1/transit/keys/k',
    )
  })

  it('builds age and pgp sources from entries and specs (modules loaded on demand)', async () => {
    expect((await keySourceFromEntry({ type: 'age', fields: { recipient: 'age1abc', enc: '' } })).id).toBe('age1abc')
    expect((await keySourceFromSpec('pgp', 'AB CD')).id).toBe('ABCD')
    const [a, b] = ['age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun', 'age1cupuj8uap80pcfg4ht94rv8xp93e9cs5epnphje7cgmsdyj2rpws9qu4fd']
    expect((await keySourcesFromList('age', ` ${a}, ,${b} `)).map((s) => s.id)).toEqual([a, b])
    // Recipients are parsed as they are read, as sops does before it makes a data key.
    await expect(keySourcesFromList('age', 'age1a')).rejects.toThrow(`failed to parse input as Bech32-encoded age public key: malformed recipient "age1a": separator '1' at invalid position: pos=3, len=5`)
  })

  it('hckms (the last type added) loads through its one registry line: entries and specs, bad ids in sops\'s words', async () => {
    const src = await keySourceFromEntry({ type: 'hckms', fields: { key_id: 'region:uuid', enc: 'x' } })
    expect(src.id).toBe('region:uuid')
    // A metadata entry without a key_id still loads; the key fails with a reason.
    await expect((await keySourceFromEntry({ type: 'hckms', fields: {} })).unwrap({ type: 'hckms', fields: {} }, { env: {} })).rejects.toBeInstanceOf(KeyUnwrapError)
    expect((await keySourceFromSpec('hckms', 'region:uuid')).id).toBe('region:uuid')
    await expect(keySourceFromSpec('hckms', 'region')).rejects.toThrow(`invalid key ID format: expected 'region:key-uuid', got "region"`)
  })

  it('splitKeyList trims and drops empty items', () => {
    expect(splitKeyList(' a , b,,c ')).toEqual(['a', 'b', 'c'])
    expect(splitKeyList('')).toEqual([])
  })
})

describe('decryption order', () => {
  it('defaults to age,pgp and parses a comma list', () => {
    expect(parseDecryptionOrder(undefined)).toEqual(['age', 'pgp'])
    expect(parseDecryptionOrder('')).toBe(DEFAULT_DECRYPTION_ORDER)
    expect(parseDecryptionOrder('pgp,kms,age')).toEqual(['pgp', 'kms', 'age'])
  })

  it('the flag wins over SOPS_DECRYPTION_ORDER', () => {
    expect(resolveDecryptionOrder(undefined, { SOPS_DECRYPTION_ORDER: 'pgp' })).toEqual(['pgp'])
    expect(resolveDecryptionOrder('kms', { SOPS_DECRYPTION_ORDER: 'pgp' })).toEqual(['kms'])
    expect(resolveDecryptionOrder(undefined, {})).toEqual(['age', 'pgp'])
  })

  it('a duplicate is exit 112', () => {
    const err = (() => {
      try {
        parseDecryptionOrder('age,pgp,age')
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(DuplicateDecryptionKeyTypeError)
    expect((err as DuplicateDecryptionKeyTypeError).exitCode).toBe(112)
    expect((err as Error).message).toBe('Duplicate decryption key type: age')
  })

  it('sorts listed types first, in list order, and keeps file order otherwise (stable)', () => {
    const items = (['kms', 'pgp', 'age', 'gcp_kms', 'age', 'pgp'] as KeyType[]).map((type, i) => ({ type, i }))
    expect(sortByDecryptionOrder(items, ['age', 'pgp']).map((x) => x.i)).toEqual([2, 4, 1, 5, 0, 3])
    expect(sortByDecryptionOrder(items, ['gcp_kms']).map((x) => x.i)).toEqual([3, 0, 1, 2, 4, 5])
    expect(sortByDecryptionOrder(items, []).map((x) => x.i)).toEqual([0, 1, 2, 3, 4, 5])
  })
})
