// The `tsops` hint when no age identity opens a file (src/keys/age-hint.ts): where identities
// are looked for, and which recipients the file has; never an identity.
import { describe, expect, it } from 'vitest'
import path from 'node:path'
import type { GroupResult } from '../../src/core/errors.js'
import { ageIdentityHint } from '../../src/keys/age-hint.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir, write } = tempWorkspace('tsops-age-hint-')
const NO_MATCH = 'failed to create reader for decrypting sops data key with age: identity did not match any of the recipients: incorrect identity for recipient block'
const NONE_FOUND = "failed to load age identities. Did not find keys in locations 'SOPS_AGE_KEY'"
const group = (...attempts: GroupResult['attempts']): GroupResult => ({ ok: false, attempts })

describe('ageIdentityHint', () => {
  it('names every place identities come from, and the recipients', () => {
    const keyFile = write('keys/other.txt', '# not the one\n')
    const env = { SOPS_AGE_KEY: 'AGE-SECRET-KEY-1SECRETVALUE', SOPS_AGE_KEY_FILE: keyFile, XDG_CONFIG_HOME: path.join(dir, 'xdg') }
    const hint = ageIdentityHint([group({ type: 'age', id: 'age1aaa', reason: NO_MATCH }, { type: 'pgp', id: 'FPR', reason: 'no key' }), group({ type: 'age', id: 'age1bbb', reason: NONE_FOUND })], env)
    expect(hint).toBe(
      `tsops looked for age identities in SOPS_AGE_KEY (set), SOPS_AGE_KEY_FILE=${keyFile} (exists), SOPS_AGE_KEY_CMD (not set), ${path.join(dir, 'xdg', 'sops', 'age', 'keys.txt')} (missing); none holds the identity of this file's age recipients age1aaa, age1bbb.`,
    )
    expect(hint).not.toContain('SECRETVALUE')
  })

  it('says nothing when no age key failed for want of an identity', () => {
    expect(ageIdentityHint([group({ type: 'pgp', id: 'FPR', reason: NO_MATCH })], {})).toBeUndefined()
    expect(ageIdentityHint([group({ type: 'age', id: 'age1aaa', reason: 'failed to create reader for decrypting sops data key with age: bad header MAC' })], {})).toBeUndefined()
    expect(ageIdentityHint([{ ok: true, attempts: [{ type: 'age', id: 'age1aaa' }] }], {})).toBeUndefined()
  })
})
