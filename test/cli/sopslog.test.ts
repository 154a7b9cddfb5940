// sops's log line formats, which tsops run as `sops` prints byte for byte (the differential tier
// compares them against real sops; these pin the quoting rules on their own).
import { describe, expect, it } from 'vitest'
import { goLogLine, goQuote, sopsLogLine } from '../../src/cli/sopslog.js'
import { parseArgs } from '../../src/cli/args.js'
import { GenericError } from '../../src/core/errors.js'

const at = new Date(2026, 0, 2, 3, 4, 5)

describe('sops log lines', () => {
  it('logrus: a message with only [A-Za-z0-9-._/@^+] stays bare, anything else is Go-quoted', () => {
    expect(sopsLogLine('fatal', 'bare-word_1.2/x@y^z+', {}, at)).toMatch(/^\[CMD\]\t time="2026-01-02T03:04:05(Z|[+-]\d\d:\d\d)" level=fatal msg=bare-word_1\.2\/x@y\^z\+\n$/)
    expect(sopsLogLine('warning', 'two words', { error: 'a "b"\nc' }, at)).toMatch(/ level=warning msg="two words" error="a \\"b\\"\\nc"\n$/)
    expect(sopsLogLine('error', '', {}, at)).toMatch(/ msg=""\n$/)
  })

  it("Go's %q: printable text as is, escapes for quotes, backslashes and control characters", () => {
    expect(goQuote('héllo ☃')).toBe('"héllo ☃"')
    expect(goQuote('a\\b"c')).toBe('"a\\\\b\\"c"')
    expect(goQuote('\t\r\n\x07\x01\x7f')).toBe('"\\t\\r\\n\\a\\x01\\x7f"')
  })

  it("Go's standard log: local date and time, then the message", () => {
    expect(goLogLine('File /x synced with new keys', at)).toBe('2026/01/02 03:04:05 File /x synced with new keys\n')
  })

  it('an unknown flag is named with one dash, as Go does, and goes to the logger under the sops name', () => {
    let thrown: unknown
    try {
      parseArgs(['--no-such-flag'])
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(GenericError)
    expect((thrown as GenericError).message).toBe('flag provided but not defined: -no-such-flag')
    expect((thrown as GenericError).sopsLog).toBe('fatal')
    expect(() => parseArgs(['--indent', 'four'])).toThrow('invalid value "four" for flag -indent: parse error')
  })

  it("a boolean flag's =VALUE is read as Go's strconv.ParseBool reads it: =0 is false, an unknown word is a usage error", () => {
    for (const off of ['0', 'f', 'F', 'false', 'FALSE', 'False']) {
      expect(parseArgs([`--enable-local-keyservice=${off}`, 'decrypt']).flags.get('enable-local-keyservice')).toBe(false)
    }
    for (const on of ['1', 't', 'T', 'true', 'TRUE', 'True']) expect(parseArgs([`--ignore-mac=${on}`]).flags.get('ignore-mac')).toBe(true)
    expect(parseArgs(['--ignore-mac']).flags.get('ignore-mac')).toBe(true)
    expect(() => parseArgs(['decrypt', '--ignore-mac=yes'])).toThrow('invalid boolean value "yes" for -ignore-mac: parse error')
  })
})
