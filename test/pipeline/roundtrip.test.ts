/**
 * decrypt(encrypt(x)) == x through the whole pipeline (format parse/emit, data key wrapped with
 * a real age key, every value encrypted, MAC), for random trees in YAML and JSON.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { TreeMap, TreeSeq, cloneValue, type Value } from '../../src/core/tree.js'
import { yamlFormat } from '../../src/formats/yaml.js'
import { jsonFormat } from '../../src/formats/json.js'
import { encryptDocument } from '../../src/pipeline/encrypt.js'
import { open, sealedDocument } from '../../src/pipeline/open.js'
import { ageKeySource } from '../../src/keys/age.js'
import type { Format } from '../../src/formats/format.js'
import type { KeyContext, KeySource } from '../../src/keys/types.js'
import { testAgeIdentity } from '../helpers/age.js'

let ctx: KeyContext
let keys: KeySource[][]
beforeAll(async () => {
  const { identity, recipient } = await testAgeIdentity()
  ctx = { env: {}, ageIdentities: [identity] }
  keys = [[ageKeySource(recipient)]]
})

const key = fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== 'sops' && k !== '<<')
const scalar = fc.oneof(
  fc.string(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.boolean(),
)
const { tree } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('tree'), tie('seq')),
  seq: fc.array(tie('value'), { maxLength: 4 }).map((items) => new TreeSeq(items as Value[])),
  tree: fc
    .uniqueArray(fc.tuple(key, tie('value')), { maxLength: 5, selector: ([k]) => k })
    .map((entries) => new TreeMap(entries.map(([k, v]) => ({ key: k, value: v as Value })))),
}))

async function roundTrip(format: Format, t: TreeMap): Promise<TreeMap> {
  const plaintext = format.emit({ branches: [t], metadata: undefined })
  const doc = format.parse(plaintext)
  await encryptDocument(format, doc, { keyGroups: keys, ctx })
  const encrypted = format.emit(doc)
  const reread = format.parse(encrypted)
  await open(sealedDocument(reread), format.name, { ctx })
  return reread.branches[0]!
}

describe.each([
  ['yaml', yamlFormat],
  ['json', jsonFormat],
] as const)('%s: decrypt(encrypt(x)) gives back x', (_name, format) => {
  it('for random trees (property)', async () => {
    await fc.assert(
      fc.asyncProperty(tree as fc.Arbitrary<TreeMap>, async (t) => {
        const expected = format.parse(format.emit({ branches: [cloneValue(t)], metadata: undefined })).branches[0]
        expect(await roundTrip(format, t)).toEqual(expected)
      }),
      { numRuns: 60 },
    )
  })
})

describe('a file in sops layout comes back byte for byte', () => {
  it.each([
    ['yaml', yamlFormat, '# head\napp:\n    name: x\n    port: 8080\n    ratio: 0.5\n    enabled: true\n    when: 2024-01-01T00:00:00Z\n    list:\n        - a\n        # inside\n        - b\n    text: |\n        multi\n        line\nempty: ""\n'],
    ['json', jsonFormat, '{\n\t"a": 1,\n\t"b": [\n\t\t1.5,\n\t\t"x",\n\t\t{\n\t\t\t"c": null\n\t\t}\n\t],\n\t"big": 123456789012345678\n}\n'],
  ] as const)('%s', async (_n, format, text) => {
    const doc = format.parse(Buffer.from(text))
    await encryptDocument(format, doc, { keyGroups: keys, ctx })
    const reread = format.parse(format.emit(doc))
    await open(sealedDocument(reread), format.name, { ctx })
    expect(Buffer.from(format.emit({ branches: reread.branches, metadata: undefined })).toString()).toBe(text)
  })
})
