/** The editor command: $SOPS_EDITOR / $EDITOR split like a shell would. */
import { describe, expect, it } from 'vitest'
import { editorCommand, shellWords } from '../../src/git/editor.js'
import { EditorError } from '../../src/core/errors.js'

describe('editor command', () => {
  it('splits words with quotes and backslashes as sh does', () => {
    expect(shellWords('code --wait')).toEqual(['code', '--wait'])
    expect(shellWords(`'/opt/My Editor/bin/ed' -n "a \\"b\\" c" d\\ e ''`)).toEqual(['/opt/My Editor/bin/ed', '-n', 'a "b" c', 'd e', ''])
    expect(() => shellWords('vim "unterminated')).toThrow(EditorError)
  })

  it('prefers SOPS_EDITOR, then EDITOR, then vim/nano/vi on PATH', () => {
    expect(editorCommand({ SOPS_EDITOR: 'nano -w', EDITOR: 'vim' })).toEqual(['nano', '-w'])
    expect(editorCommand({ EDITOR: 'emacs -nw' })).toEqual(['emacs', '-nw'])
    expect(() => editorCommand({ PATH: '/nonexistent' })).toThrow(/no editor found/)
  })
})
