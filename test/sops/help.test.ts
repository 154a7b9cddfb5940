// Completion against real sops 3.13.2: under the name sops, `completion bash|zsh` prints
// urfave/cli's scripts byte for byte, and the flag completion at the top level (the global flags,
// which tsops lists in sops's order) is the same. Help text itself is not compared: tsops has more
// commands and flags than sops, and says so.
import { afterAll, describe, expect, it } from 'vitest'
import { cleanupTwins, expectSame, twin } from './harness.js'

afterAll(cleanupTwins)

describe('completion, twin against real sops', () => {
  it.each([['completion', 'bash'], ['completion', 'zsh']])('%s %s prints the same script', async (...args) => {
    const t = await twin(args)
    expect(t.real.code).toBe(0)
    expect(t.real.stdout.length).toBeGreaterThan(100)
    expectSame(t, {}, args.join(' '))
  })

  // Where tsops has exactly sops's subcommands and flags, its generated help is sops's text too.
  it.each([['groups'], ['groups', '--help'], ['completion'], ['completion', '--help'], ['completion', 'bash', '--help'], ['completion', 'zsh', '-h']])(
    '%j prints the same usage',
    async (...args) => {
      const t = await twin(args)
      expect(t.real.stdout.toString()).toContain('NAME:')
      expectSame(t, {}, args.join(' '))
    },
  )

  it('an unknown shell: the same "No help topic" and exit code', async () => {
    expectSame(await twin(['completion', 'fish']), {}, 'completion fish')
  })

  it('an unknown help topic: the same "No help topic" and exit code', async () => {
    expectSame(await twin(['help', 'nope']), {}, 'help nope')
  })

  it.each([['-'], ['--'], ['--a'], ['--rm'], ['-s'], ['nofile', '--'], ['help', '--']])(
    'the global flags for %j --generate-bash-completion are the same',
    async (...words) => {
      const t = await twin([...words, '--generate-bash-completion'])
      expect(t.real.code).toBe(0)
      expectSame(t, {}, words.join(' '))
    },
  )

  it('under zsh, subcommands come with the same summaries', async () => {
    for (const words of [['groups'], ['completion']]) {
      expectSame(await twin([...words, '--generate-bash-completion'], { env: { _CLI_ZSH_AUTOCOMPLETE_HACK: '1' } }), {}, `zsh ${words.join(' ')}`)
    }
  })

  it('groups and completion complete their subcommands the same way', async () => {
    for (const words of [['groups'], ['completion'], ['groups', '--'], ['completion', '-'], ['groups', 'add', '--f']]) {
      expectSame(await twin([...words, '--generate-bash-completion']), {}, words.join(' '))
    }
  })
})
