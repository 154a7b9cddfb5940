/**
 * Bounded fuzzing (fast-check) of everything that reads untrusted bytes: every format parser
 * (plaintext and encrypted readers), the `ENC[…]` codec, the tree walk, the metadata reader and
 * the data-key unwrap. The property is always the same: the code either succeeds or throws a
 * TsopsError carrying a valid exit code — never a TypeError/RangeError/SyntaxError.
 * Inputs are arbitrary bytes, text built from each format's structural tokens, and seeded
 * mutations of valid samples (which get much deeper into the parsers than random bytes do).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { TsopsError } from '../../src/core/errors.js'
import { ValueCipher, matchEncrypted, parseEncrypted } from '../../src/core/cipher.js'
import { readMetadata, metadataTree } from '../../src/keys/metadata.js'
import { LeafSelector } from '../../src/core/rules.js'
import { decryptBranches, encryptBranches } from '../../src/core/walk.js'
import { Comment, Timestamp, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { loadEncryptedParser, loadFormat } from '../../src/formats/registry.js'
import type { Document, Format, FormatName } from '../../src/formats/format.js'
import { unwrapDataKey } from '../../src/keys/datakey.js'
import { testAgeIdentity } from '../helpers/age.js'
import { MUTATION_KINDS, SAMPLES, mutate, prng } from './support.js'

/** Per property; raise it for a soak run: TSOPS_FUZZ_RUNS=50000 npx vitest run test/reliability/fuzz.test.ts */
const RUNS = Number(process.env.TSOPS_FUZZ_RUNS ?? 600)

/** Run `fn`; a failure must be a TsopsError with a usable exit code. */
function cleanly<T>(fn: () => T): T | undefined {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof TsopsError)) throw new Error(`escaped non-tsops error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err })
    expect(Number.isInteger(err.exitCode) && err.exitCode > 0 && err.exitCode < 256).toBe(true)
    return undefined
  }
}

async function cleanlyAsync<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (err) {
    if (!(err instanceof TsopsError)) throw new Error(`escaped non-tsops error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err })
    return undefined
  }
}

// ---- inputs ---------------------------------------------------------------------------------

const TOKENS: Record<FormatName, string[]> = {
  yaml: [':', ' ', '\n', '- ', '  ', '#', '&a ', '*a', '!!binary ', '!!int ', '"', "'", '{', '}', '[', ']', ',', '|', '>', '---\n', '...\n', '? ', 'key', 'sops', '0x1F', '2024-01-01', '~', '\t', '\r\n', '\ufeff', '<<: '],
  json: ['{', '}', '[', ']', ':', ',', '"', '\\', '\\u00', 'd800', 'true', 'false', 'null', '-', '0', '1e400', '.5', ' ', '\n', '"sops"', '"data"', '\ufeff'],
  dotenv: ['=', '\n', '#', 'sops_', '__map_', '__list_', '0', '1', 'KEY', '\\n', ' ', '\r', 'version', 'mac'],
  ini: ['[', ']', '=', ':', '\n', ';', '#', '"""', '`', '\\\n', '-', 'key', 'sops', '"', "'", ' ', '\ufeff', '__map_', '__list_0'],
  toml: ['[', ']', '[[', ']]', '=', '"', "'", '"""', "'''", '\n', '#', '.', 'a', 'sops', '{', '}', ',', '1_000', '0x', 'inf', 'nan', '1979-05-27T07:32:00Z', 'true', ' ', '\\u', '\r\n'],
  binary: ['{', '}', '"data"', ':', '"ENC[AES256_GCM,data:', ',iv:', ',tag:', ',type:str]"', '"sops"', ','],
}

function tokenText(format: FormatName): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.oneof(fc.constantFrom(...TOKENS[format]), fc.string({ maxLength: 4 })), { maxLength: 60 }).map((parts) => Buffer.from(parts.join('')))
}

const anyBytes = fc.uint8Array({ maxLength: 400 })

/** Seeded mutations of a sample (its plaintext, or its encrypted form when given). */
function mutatedFrom(base: () => Buffer): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 })).map(([seed, rounds]) => {
    const rand = prng(seed)
    let bytes = base()
    for (let r = 0; r < rounds; r++) bytes = mutate(bytes, rand, MUTATION_KINDS[Math.floor(rand() * MUTATION_KINDS.length)]!).bytes
    return bytes
  })
}

// ---- encrypted samples, made once ---------------------------------------------------------------

const encryptedSamples = new Map<FormatName, Buffer>()
let identity: string
let realMetadata: TreeMap | undefined

beforeAll(async () => {
  const age = await testAgeIdentity()
  identity = age.identity
  const { encryptDocument } = await import('../../src/pipeline/encrypt.js')
  const { ageKeySource } = await import('../../src/keys/age.js')
  for (const name of ['yaml', 'json', 'dotenv', 'ini', 'binary', 'toml'] as const) {
    const format = await loadFormat(name)
    const doc = format.parse(Buffer.from(SAMPLES[name]))
    await encryptDocument(format, doc, { keyGroups: [[ageKeySource(age.recipient)]], ctx: { env: {} } })
    encryptedSamples.set(name, Buffer.from(format.emit(doc)))
  }
  realMetadata = (await loadFormat('yaml')).parse(encryptedSamples.get('yaml')!).metadata
})

// ---- parsers -----------------------------------------------------------------------------------

describe.each(['yaml', 'json', 'dotenv', 'ini', 'binary', 'toml'] as const)('%s parsers', (name) => {
  let format: Format
  let parseEncrypted_: (bytes: Uint8Array) => Document
  beforeAll(async () => {
    format = await loadFormat(name)
    parseEncrypted_ = await loadEncryptedParser(name)
  })

  const parsed = { plain: 0, metadata: 0, total: 0 }

  /** Parse as plaintext and as an encrypted file; what parses must also emit cleanly. */
  function exercise(bytes: Uint8Array): void {
    parsed.total++
    const plain = cleanly(() => format.parse(bytes))
    if (plain) {
      parsed.plain++
      cleanly(() => format.emit(plain))
    }
    const enc = cleanly(() => parseEncrypted_(bytes))
    if (enc?.metadata && cleanly(() => readMetadata(enc.metadata))) parsed.metadata++
  }

  it('arbitrary bytes', () => {
    fc.assert(fc.property(anyBytes, (b) => exercise(b)), { numRuns: RUNS })
  })

  it('text made of the format’s own tokens', () => {
    fc.assert(fc.property(tokenText(name), (b) => exercise(b)), { numRuns: RUNS })
  })

  it('mutated plaintext and encrypted samples', () => {
    const plainSample = () => Buffer.from(SAMPLES[name])
    const encSample = () => encryptedSamples.get(name)!
    const before = { ...parsed }
    fc.assert(fc.property(fc.oneof(mutatedFrom(plainSample), mutatedFrom(encSample)), (b) => exercise(b)), { numRuns: RUNS })
    // Not vacuous: many damaged files still parse, and some still carry readable metadata.
    expect(parsed.plain - before.plain).toBeGreaterThan(RUNS / 10)
    if (name !== 'binary') expect(parsed.metadata - before.metadata).toBeGreaterThan(RUNS / 20)
  })
})

// ---- the ENC[…] codec ---------------------------------------------------------------------------

describe('ENC[…] codec', () => {
  const ENC_RE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/s
  const piece = fc.constantFrom('ENC[AES256_GCM,data:', ',iv:', ',tag:', ',type:', ']', 'str', 'a', '=', '==', ',', ':', '\n', 'ENC[', 'AAAA')
  const encLike = fc.array(piece, { maxLength: 14 }).map((p) => p.join(''))

  it('matchEncrypted gives the captures of sops’s regex (on inputs small enough for the regex)', () => {
    fc.assert(
      fc.property(encLike, (s) => {
        const m = ENC_RE.exec(s)
        expect(matchEncrypted(s)).toEqual(m ? m.slice(1) : undefined)
      }),
      { numRuns: 2000 },
    )
  })

  // Its time (the regex once took 18 s on 6 KB) is a bench row: bench/scaling.mjs, "ENC value parser".
  it('rejects a hostile value with a clean error', () => {
    const hostile = 'ENC[AES256_GCM,data:' + ',iv:,tag:,type:x'.repeat(100_000)
    expect(() => parseEncrypted(hostile)).toThrow(TsopsError)
  })

  it('parseEncrypted and ValueCipher.decrypt fail cleanly on anything', () => {
    const cipher = new ValueCipher(randomBytes(32))
    fc.assert(
      fc.property(fc.oneof(encLike, fc.string({ maxLength: 80 })), fc.string({ maxLength: 8 }), (s, aad) => {
        cleanly(() => parseEncrypted(s))
        cleanly(() => cipher.decrypt(s, aad))
      }),
      { numRuns: RUNS },
    )
  })

  it('mutated ciphertexts of every type fail cleanly, or decrypt to the original', () => {
    const key = randomBytes(32)
    const cipher = new ValueCipher(key)
    const values = ['hunter2', 42n, 1.5, true, new Timestamp('2024-01-01T00:00:00Z'), new Comment(' c')] as const
    fc.assert(
      fc.property(fc.constantFrom(...values), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (value, seed) => {
        const enc = Buffer.from(cipher.encrypt(value, 'a:b:'))
        const rand = prng(seed)
        const damaged = mutate(enc, rand, MUTATION_KINDS[seed % MUTATION_KINDS.length]!).bytes.toString('latin1')
        const out = cleanly(() => new ValueCipher(key).decrypt(damaged, 'a:b:'))
        // GCM authenticates data, iv and tag; only the type tag, base64's unused padding bits and
        // text after the last `]` (sops's regex is anchored at the start only) are outside it.
        // ("" is the empty value, which sops stores unencrypted.)
        if (out !== undefined && damaged !== '') {
          const [a, b] = [parseEncrypted(damaged), parseEncrypted(enc.toString('latin1'))]
          expect([a.data, a.iv, a.tag]).toEqual([b.data, b.iv, b.tag])
        }
      }),
      { numRuns: RUNS },
    )
  })
})

// ---- walk and metadata -------------------------------------------------------------------------

const FIELD_NAMES = [
  'version', 'lastmodified', 'mac', 'age', 'pgp', 'kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'hckms', 'key_groups', 'recipient', 'enc',
  'created_at', 'fp', 'shamir_threshold', 'unencrypted_suffix', 'encrypted_suffix', 'encrypted_regex', 'unencrypted_regex',
  'encrypted_comment_regex', 'mac_only_encrypted', 'Version', 'AGE', 'x', '',
]

const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('3.13.2', '2024-01-01T00:00:00Z', 'age1qqq', '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n', 'ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]', '(', '2', 'true'),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(new Timestamp('2024-01-01T00:00:00Z')),
  fc.uint8Array({ maxLength: 8 }),
)

const { tree } = fc.letrec<{ value: Value; map: TreeMap; seq: TreeSeq; tree: TreeMap }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('map'), tie('seq')),
  map: fc
    .array(fc.oneof(fc.tuple(fc.constantFrom(...FIELD_NAMES), tie('value')), fc.string({ maxLength: 6 }).map((c) => new Comment(c))), { maxLength: 6 })
    .map((items) => new TreeMap(items.map((i) => (i instanceof Comment ? i : { key: i[0], value: i[1] })))),
  seq: fc.array(fc.oneof(tie('value'), fc.string({ maxLength: 6 }).map((c) => new Comment(c))), { maxLength: 4 }).map((items) => new TreeSeq(items)),
  // Often valid enough at the top to get past the version and time checks, with an age key list
  // that is either arbitrary or the real one of an encrypted sample (so unwraps also succeed).
  tree: fc
    .tuple(
      fc.option(fc.constantFrom('3.13.2', '1.0', 'v3.0.0')),
      fc.option(fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-01T00:00:00+02:00')),
      fc.option(fc.oneof(tie('seq'), fc.constant(null).map(() => realAgeList()))),
      tie('map'),
    )
    .map(([version, lastmodified, age, rest]) => {
      const items = [...rest.items]
      if (version !== null) items.unshift({ key: 'version', value: version })
      if (lastmodified !== null) items.unshift({ key: 'lastmodified', value: lastmodified })
      if (age !== null) items.unshift({ key: 'age', value: age })
      return new TreeMap(items)
    }),
}))

/** A fresh copy of the `age` list of the encrypted YAML sample (metadata as sops writes it). */
function realAgeList(): Value {
  const meta = realMetadata?.get('age')
  return meta instanceof TreeSeq ? new TreeSeq(meta.items.map((i) => (i instanceof TreeMap ? new TreeMap([...i.items]) : i))) : null
}

describe('metadata reader and data-key unwrap', () => {
  it('readMetadata on arbitrary trees; what it accepts serializes and unwraps cleanly', async () => {
    let accepted = 0
    let unwrapped = 0
    await fc.assert(
      fc.asyncProperty(tree, async (t) => {
        const meta = cleanly(() => readMetadata(t))
        if (!meta) return
        accepted++
        cleanly(() => metadataTree(meta))
        // Only age entries are unwrapped: the others would call gpg or a cloud SDK.
        if (meta.keyGroups.every((g) => g.every((k) => k.type === 'age'))) {
          const key = await cleanlyAsync(() => unwrapDataKey(meta.keyGroups, meta.shamirThreshold, { env: { SOPS_AGE_KEY: identity } }))
          if (key) unwrapped++
        }
      }),
      { numRuns: RUNS },
    )
    expect(accepted).toBeGreaterThan(RUNS / 10)
    expect(unwrapped).toBeGreaterThan(0)
  })
})

describe('tree walk', () => {
  it('decryptBranches fails cleanly on arbitrary trees; encryptBranches never fails', () => {
    const key = randomBytes(32)
    fc.assert(
      fc.property(tree, fc.constantFrom({}, { encryptedRegex: '^(pass|enc)' }, { unencryptedCommentRegex: 'x' }, { macOnlyEncrypted: true }), (t, rules) => {
        cleanly(() => decryptBranches([t], new ValueCipher(key), new LeafSelector(rules)))
        cleanly(() => encryptBranches([t], new ValueCipher(key), new LeafSelector(rules)))
      }),
      { numRuns: RUNS },
    )
  })

  it('walks 20,000 levels without overflowing the stack, both ways', () => {
    const key = randomBytes(32)
    const depth = 20_000
    let root = new TreeMap([{ key: 'leaf', value: 'secret' }])
    for (let i = 0; i < depth; i++) root = new TreeMap([{ key: `k${i % 10}`, value: i % 2 ? root : new TreeSeq([root]) }])
    const mac = encryptBranches([root], new ValueCipher(key), new LeafSelector({}))
    expect(decryptBranches([root], new ValueCipher(key), new LeafSelector({}))).toBe(mac)
  })
})
