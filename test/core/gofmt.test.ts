import { describe, expect, it } from 'vitest'
import {
  canonicalSecondsTime,
  canonicalTimeText,
  formatFloatF,
  formatFloatG,
  formatFloatJSON,
  formatFloatYAML,
  parseGoInt,
  valToStringFloat,
} from '../../src/core/gofmt.js'

describe('Go number text', () => {
  it("strconv 'f' -1 (type:float plaintext and MAC bytes)", () => {
    expect(formatFloatF(1.5)).toBe('1.5')
    expect(formatFloatF(2)).toBe('2')
    expect(formatFloatF(1e21)).toBe('1000000000000000000000')
    expect(formatFloatF(1e-7)).toBe('0.0000001')
    expect(formatFloatF(1234568000)).toBe('1234568000')
    expect(formatFloatF(9223372036854775808)).toBe('9223372036854776000')
    expect(formatFloatF(Infinity)).toBe('+Inf')
    expect(formatFloatF(-Infinity)).toBe('-Inf')
    expect(formatFloatF(NaN)).toBe('NaN')
    expect(formatFloatF(-0)).toBe('-0')
  })

  it("strconv 'g' -1 and yaml.v3 spelling", () => {
    expect(formatFloatG(1234568000)).toBe('1.234568e+09')
    expect(formatFloatG(100000)).toBe('100000')
    expect(formatFloatG(1000000)).toBe('1e+06')
    expect(formatFloatG(1e-7)).toBe('1e-07')
    expect(formatFloatG(0.0001)).toBe('0.0001')
    expect(formatFloatG(0.00001)).toBe('1e-05')
    expect(formatFloatYAML(Infinity)).toBe('.inf')
    expect(formatFloatYAML(-Infinity)).toBe('-.inf')
    expect(formatFloatYAML(NaN)).toBe('.nan')
    expect(formatFloatYAML(1e21)).toBe('1e+21')
  })

  it('encoding/json floats', () => {
    expect(formatFloatJSON(25.4)).toBe('25.4')
    expect(formatFloatJSON(1e-7)).toBe('1e-7')
    expect(formatFloatJSON(1e21)).toBe('1e+21')
    expect(formatFloatJSON(9223372036854775808)).toBe('9223372036854776000')
    expect(formatFloatJSON(1e20)).toBe('100000000000000000000')
  })

  it('ValToString floats', () => {
    expect(valToStringFloat(2)).toBe('2.0')
    expect(valToStringFloat(1.23)).toBe('1.23')
    expect(valToStringFloat(1e21)).toBe('1E+21')
  })

  it('Atoi range', () => {
    expect(parseGoInt('9223372036854775807')).toBe(9223372036854775807n)
    expect(parseGoInt('9223372036854775808')).toBeUndefined()
    expect(parseGoInt('+5')).toBe(5n)
    expect(parseGoInt('0x1')).toBeUndefined()
  })
})

describe('Go time text', () => {
  it('MarshalText after RFC 3339 parse', () => {
    expect(canonicalTimeText('2006-01-02T15:04:05+07:06')).toBe('2006-01-02T15:04:05+07:06')
    expect(canonicalTimeText('2024-01-01T00:00:00.500000000Z')).toBe('2024-01-01T00:00:00.5Z')
    expect(canonicalTimeText('2024-01-01T00:00:00+00:00')).toBe('2024-01-01T00:00:00Z')
    expect(canonicalTimeText('2024-02-30T00:00:00Z')).toBeUndefined()
  })

  it('lastmodified as the MAC AAD: seconds precision, Z for UTC', () => {
    expect(canonicalSecondsTime('2025-08-06T18:55:05.123Z')).toBe('2025-08-06T18:55:05Z')
    expect(canonicalSecondsTime('2025-08-06T18:55:05+00:00')).toBe('2025-08-06T18:55:05Z')
    expect(canonicalSecondsTime('2025-08-06T18:55:05+02:00')).toBe('2025-08-06T18:55:05+02:00')
    expect(canonicalSecondsTime('')).toBeUndefined()
  })
})
