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
