import { describe, expect, it } from 'vitest'
import { detectFormat, resolveFormatName } from '../../src/formats/registry.js'

describe('format detection by suffix', () => {
  it.each([
    ['a.yaml', 'yaml'],
    ['dir/b.YML', 'yaml'],
    ['c.json', 'json'],
    ['.env', 'dotenv'],
    ['prod.env', 'dotenv'],
    ['x.ini', 'ini'],
    ['Cargo.toml', 'toml'],
    ['secret.bin', 'binary'],
    ['noext', 'binary'],
  ])('%s -> %s', (name, format) => {
    expect(detectFormat(name)).toBe(format)
  })

  it('an explicit type wins; an unknown one is an error', () => {
    expect(resolveFormatName('json', 'a.yaml')).toBe('json')
    expect(() => resolveFormatName('xml', 'a.yaml')).toThrow(/unknown file type/)
  })
})

describe('assertReadsBack (before encrypt -i replaces the plaintext)', () => {
  it('accepts an encrypted file that reads back, and refuses output that does not, with exit 4', async () => {
    const { assertReadsBack } = await import('../../src/formats/registry.js')
    const { encrypt } = await import('../../src/index.js')
    const { testAgeIdentity } = await import('../helpers/age.js')
    const { EmitError } = await import('../../src/core/errors.js')
    const age = await testAgeIdentity()
    const good = await encrypt('"api\\u2028key": s3cret\n', { format: 'yaml', age: [age.recipient] })
    await expect(assertReadsBack('yaml', Buffer.from(good))).resolves.toBeUndefined()
    // A file the reader cannot parse (as tsops's own U+2028 output once was), and one without metadata.
    for (const bad of ["? 'api\u2028    key'\n: [unclosed\n", 'plain: text\n']) {
      const err = await assertReadsBack('yaml', Buffer.from(bad)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(EmitError)
      expect((err as InstanceType<typeof EmitError>).exitCode).toBe(4)
      expect((err as Error).message).toMatch(/^The encrypted yaml output does not read back \(.*\); the file was not changed$/)
    }
  })
})
