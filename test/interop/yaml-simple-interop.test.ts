// The fast YAML reader on files real sops wrote (and their plaintexts): wherever it accepts
// one, the full reader gives the same tree (see test/formats/yaml-simple.test.ts).
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseSimpleYaml } from '../../src/formats/yaml-simple.js'
import { parseYamlText } from '../../src/formats/yaml-parse.js'
import { INTEROP } from '../helpers/paths.js'

const files = ['sops', 'sops-age'].flatMap((d) =>
  readdirSync(path.join(INTEROP, d))
    .filter((f) => /\.ya?ml(\.dec)?$/.test(f))
    .map((f) => path.join(INTEROP, d, f)),
)

describe('fast YAML reader on files written by sops', () => {
  it('agrees with the full reader on every interop YAML file it accepts, and accepts the plain ones', () => {
    expect(files.length).toBeGreaterThan(5)
    const accepted: string[] = []
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      if (parseSimpleYaml(text) === undefined) continue
      accepted.push(path.basename(file))
      expect(parseYamlText(text), file).toStrictEqual(parseYamlText(text, { simple: false }))
    }
    // sops-age/secrets.age.yaml has no comments: the fast reader must take it.
    expect(accepted).toContain('secrets.age.yaml')
  })
})
