/**
 * The hand-written protobuf of src/keyservice/proto.ts: bytes checked against the field numbers
 * of sops's keyservice.proto, and round trips through @grpc/proto-loader (protobufjs) reading a
 * copy of that .proto, so both directions agree with a real protobuf implementation.
 */
import { describe, expect, it } from 'vitest'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadSync } from '@grpc/proto-loader'
import { entryOfWrappedKey, keyOfEntry, KEY_MESSAGES } from '../../src/keyservice/keys.js'
import { decodeDataResponse, decodeKey, decodeKeyRequest, encodeDataResponse, encodeKey, encodeKeyRequest, ProtoDecodeError } from '../../src/keyservice/proto.js'
import { wrapDataKey } from '../../src/keys/datakey.js'
import type { KeyEntry, KeyService, KeySource, KeyType } from '../../src/keys/types.js'

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'keyservice.proto')
const definition = loadSync(PROTO, { keepCase: true, oneofs: true, longs: String, defaults: false })
interface Method {
  requestSerialize(value: unknown): Buffer
  requestDeserialize(bytes: Buffer): Record<string, unknown>
  responseSerialize(value: unknown): Buffer
  responseDeserialize(bytes: Buffer): Record<string, unknown>
}
const service = definition.KeyService as unknown as { Encrypt: Method; Decrypt: Method }

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** One key of every type, each field set, as a metadata entry (with fields a key service is never sent). */
const ENTRIES: Record<KeyType, KeyEntry> = {
  kms: {
    type: 'kms',
    fields: { arn: 'arn:aws:kms:eu-central-1:111122223333:key/k', role: 'arn:aws:iam::111122223333:role/r', context: { app: 'web', 'é': 'ü' }, aws_profile: 'prod', enc: 'x', created_at: 't' },
  },
  pgp: { type: 'pgp', fields: { fp: 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4', enc: 'x', created_at: 't' } },
  gcp_kms: { type: 'gcp_kms', fields: { resource_id: 'projects/p/locations/global/keyRings/r/cryptoKeys/k', enc: 'x', created_at: 't' } },
  azure_kv: { type: 'azure_kv', fields: { vault_url: 'https://v.vault.azure.net', name: 'k', version: '0123', enc: 'x', created_at: 't' } },
  hc_vault: { type: 'hc_vault', fields: { vault_address: 'https://vault:8200', engine_path: 'transit', key_name: 'k', enc: 'x', created_at: 't' } },
  age: { type: 'age', fields: { recipient: 'age1qqqq', enc: 'x' } },
  hckms: { type: 'hckms', fields: { key_id: 'cn-north-4:0000', enc: 'x', created_at: 't' } },
}

/** What proto-loader reads for each key: the .proto's names (PGP's `fingerprint`), the oneof named. */
const AS_PROTOBUFJS: Record<KeyType, Record<string, unknown>> = {
  kms: { key_type: 'kms_key', kms_key: { arn: 'arn:aws:kms:eu-central-1:111122223333:key/k', role: 'arn:aws:iam::111122223333:role/r', context: { app: 'web', 'é': 'ü' }, aws_profile: 'prod' } },
  pgp: { key_type: 'pgp_key', pgp_key: { fingerprint: 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4' } },
  gcp_kms: { key_type: 'gcp_kms_key', gcp_kms_key: { resource_id: 'projects/p/locations/global/keyRings/r/cryptoKeys/k' } },
  azure_kv: { key_type: 'azure_keyvault_key', azure_keyvault_key: { vault_url: 'https://v.vault.azure.net', name: 'k', version: '0123' } },
  hc_vault: { key_type: 'vault_key', vault_key: { vault_address: 'https://vault:8200', engine_path: 'transit', key_name: 'k' } },
  age: { key_type: 'age_key', age_key: { recipient: 'age1qqqq' } },
  hckms: { key_type: 'hckms_key', hckms_key: { key_id: 'cn-north-4:0000' } },
}

describe('field numbers of keyservice.proto', () => {
  it('an age key is field 6 of Key, its recipient field 1', () => {
    // tag (6<<3)|2 = 0x32, length 10, then tag (1<<3)|2 = 0x0a, length 8, "age1qqqq"
    expect(hex(encodeKey(keyOfEntry(ENTRIES.age)))).toBe('320a0a08' + Buffer.from('age1qqqq').toString('hex'))
  })

  it('a PGP key is field 2, its fingerprint field 1', () => {
    expect(hex(encodeKey({ type: 'pgp', fields: { fp: 'AB' } }))).toBe('12040a024142')
  })

  it('a KMS key: arn 1, role 2, context 3 (map entries key 1, value 2), aws_profile 4; empty strings left out', () => {
    const bytes = encodeKey({ type: 'kms', fields: { arn: 'a', role: '', context: { k: 'v' }, aws_profile: 'p' } })
    // 0a 0e: kms_key (field 1), 14 bytes: 0a 01 'a' | 22 01 'p' | 1a 06 (0a 01 'k' 12 01 'v')
    expect(hex(bytes)).toBe('0a0e' + '0a0161' + '220170' + '1a060a016b120176')
  })

  it('requests: key 1, data 2; responses: data 1', () => {
    expect(hex(encodeKeyRequest({ type: 'age', fields: { recipient: 'r' } }, Uint8Array.of(0xff)))).toBe('0a05' + '32030a0172' + '1201ff')
    expect(hex(encodeDataResponse(Uint8Array.of(1, 2)))).toBe('0a020102')
    // proto3: empty bytes are not written at all
    expect(hex(encodeDataResponse(new Uint8Array(0)))).toBe('')
  })

  it('every key type has its own oneof field, 1 to 7 as in the .proto', () => {
    expect(Object.fromEntries(Object.entries(KEY_MESSAGES).map(([t, m]) => [t, m.oneof]))).toEqual({ kms: 1, pgp: 2, gcp_kms: 3, azure_kv: 4, hc_vault: 5, age: 6, hckms: 7 })
  })
})

describe('round trips with @grpc/proto-loader', () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => i % 256) // a length needing a 2-byte varint

  for (const type of Object.keys(ENTRIES) as KeyType[]) {
    it(`${type}: what tsops encodes, protobufjs reads, and the other way round`, () => {
      const key = keyOfEntry(ENTRIES[type])
      const read = service.Encrypt.requestDeserialize(Buffer.from(encodeKeyRequest(key, data)))
      expect(read).toEqual({ key: AS_PROTOBUFJS[type], plaintext: Buffer.from(data) })

      const theirs = service.Decrypt.requestSerialize({ key: AS_PROTOBUFJS[type], ciphertext: Buffer.from(data) })
      const decoded = decodeKeyRequest(theirs)
      expect(decoded.key).toEqual(key)
      expect(Buffer.from(decoded.data)).toEqual(Buffer.from(data))
    })
  }

  it('responses both ways', () => {
    expect(service.Encrypt.responseDeserialize(Buffer.from(encodeDataResponse(data)))).toEqual({ ciphertext: Buffer.from(data) })
    expect(Buffer.from(decodeDataResponse(service.Decrypt.responseSerialize({ plaintext: Buffer.from(data) })))).toEqual(Buffer.from(data))
    expect(decodeDataResponse(service.Decrypt.responseSerialize({}))).toEqual(new Uint8Array(0))
  })

  it('a key whose strings are all empty is still that type (the oneof member is written)', () => {
    const empty = { type: 'age' as const, fields: { recipient: '' } }
    expect(service.Encrypt.requestDeserialize(Buffer.from(encodeKeyRequest(empty, data))).key).toEqual({ key_type: 'age_key', age_key: {} })
    expect(decodeKey(encodeKey(empty))).toEqual(empty)
  })
})

describe('decoding what a peer may send', () => {
  it('no key at all, or a key type this version does not know: no key (the server answers "Must provide a key")', () => {
    expect(decodeKeyRequest(Buffer.from('1201ff', 'hex')).key).toBeUndefined()
    expect(decodeKeyRequest(new Uint8Array(0))).toEqual({ data: new Uint8Array(0) })
    // Key with field 9 (a future key type): skipped
    expect(decodeKey(Buffer.from('4a020a00', 'hex'))).toBeUndefined()
  })

  it('unknown fields of every wire type are skipped', () => {
    const known = encodeKeyRequest({ type: 'age', fields: { recipient: 'r' } }, Uint8Array.of(7))
    const unknown = Buffer.from([
      ...[0x18, 0x96, 0x01], // field 3 varint 150
      ...[0x21, 1, 2, 3, 4, 5, 6, 7, 8], // field 4 fixed64
      ...[0x2d, 1, 2, 3, 4], // field 5 fixed32
      ...[0x32, 0x01, 0x00], // field 6 bytes
    ])
    const decoded = decodeKeyRequest(Buffer.concat([unknown, known, unknown]))
    expect(decoded.key).toEqual({ type: 'age', fields: { recipient: 'r' } })
    expect([...decoded.data]).toEqual([7])
  })

  it('the last of a repeated field wins; map entries add up', () => {
    const twice = Buffer.concat([encodeKey({ type: 'age', fields: { recipient: 'a' } }), encodeKey({ type: 'pgp', fields: { fp: 'B' } })])
    expect(decodeKey(twice)).toEqual({ type: 'pgp', fields: { fp: 'B' } })
    const kms = encodeKey({ type: 'kms', fields: { arn: 'x', context: { a: '1', b: '2' } } })
    expect(decodeKey(kms)).toEqual({ type: 'kms', fields: { arn: 'x', role: '', aws_profile: '', context: { a: '1', b: '2' } } })
  })

  it('truncated or malformed input is a ProtoDecodeError, never a crash or an endless loop', () => {
    const good = Buffer.from(encodeKeyRequest({ type: 'age', fields: { recipient: 'recipient' } }, Uint8Array.of(1, 2, 3)))
    for (let n = 1; n < good.length; n++) {
      let outcome: unknown
      try {
        outcome = decodeKeyRequest(good.subarray(0, n))
      } catch (e) {
        outcome = e
      }
      // A cut between fields is a valid shorter message; anywhere else, a decode error.
      if (outcome instanceof Error) expect(outcome).toBeInstanceOf(ProtoDecodeError)
    }
    expect(() => decodeKeyRequest(Buffer.from('0a', 'hex'))).toThrow(ProtoDecodeError)
    expect(() => decodeKeyRequest(Buffer.from('0affffffffffffffffffff01', 'hex'))).toThrow(/overflow/)
    expect(() => decodeKeyRequest(Buffer.from('0b', 'hex'))).toThrow(/wire type 3/)
    expect(() => decodeKeyRequest(Buffer.from('0001', 'hex'))).toThrow(/field number/)
  })

  it('strings must be UTF-8, as Go\'s proto3 requires', () => {
    expect(() => decodeKey(Buffer.from('32030a01ff', 'hex'))).toThrow(/invalid UTF-8/)
  })
})

describe('entries and keys', () => {
  it('a key service is told only the fields that name the key', () => {
    expect(keyOfEntry(ENTRIES.kms)).toEqual({
      type: 'kms',
      fields: { arn: ENTRIES.kms.fields.arn, role: ENTRIES.kms.fields.role, aws_profile: 'prod', context: { app: 'web', 'é': 'ü' } },
    })
    expect(keyOfEntry(ENTRIES.age)).toEqual({ type: 'age', fields: { recipient: 'age1qqqq' } })
  })

  it('the entry of a key wrapped by a service: enc is the service\'s bytes as text; created_at for every type but age', async () => {
    expect(entryOfWrappedKey({ type: 'age', fields: { recipient: 'r' } }, Buffer.from('-----BEGIN AGE'))).toEqual({ type: 'age', fields: { recipient: 'r', enc: '-----BEGIN AGE' } })
    expect(entryOfWrappedKey({ type: 'pgp', fields: { fp: 'F' } }, Buffer.from('m'))).toEqual({ type: 'pgp', fields: { fp: 'F', enc: 'm' } })
    // created_at is wrapDataKey's, as for keys wrapped in this process: a service's entry gets it too.
    const service: KeyService = {
      wrap: async (key) => entryOfWrappedKey({ type: key.type, fields: key.keyFields ?? {} }, Buffer.from(key.type === 'age' ? '-----BEGIN AGE' : 'm')),
      unwrap: () => Promise.reject(new Error('not used')),
    }
    const source = (type: KeyType, keyFields: KeyEntry['fields']): KeySource => ({ type, id: 'id', keyFields, wrap: () => Promise.reject(new Error('local')), unwrap: () => Promise.reject(new Error('local')) })
    const ctx = { env: {}, keyServices: [service], now: () => new Date('2026-12-06T00:00:00.123Z') }
    const { groups } = await wrapDataKey(new Uint8Array(32), [[source('age', { recipient: 'r' }), source('pgp', { fp: 'F' })]], 0, ctx)
    expect(groups[0]).toEqual([
      { type: 'age', fields: { recipient: 'r', enc: '-----BEGIN AGE' } },
      { type: 'pgp', fields: { fp: 'F', enc: 'm', created_at: '2026-12-06T00:00:00Z' } },
    ])
  })
})
