/**
 * age's kind of help when no identity opens a file (age prints "no identity matched any of the
 * recipients" and suggests where keys come from): the `tsops` persona's hint says where tsops
 * looked for age identities, as sops does, and which age recipients the file was encrypted to.
 * Loaded only on that failure. Never an identity's value: a location is named, with whether it
 * is set or exists.
 */
import fs from 'node:fs'
import type { GroupResult } from '../core/errors.js'
import { defaultAgeKeyFile, SOPS_AGE_KEY, SOPS_AGE_KEY_CMD, SOPS_AGE_KEY_FILE } from './age.js'

/** The age failures that mean "no identity for this file": none found, or none matched. */
const NO_IDENTITY = /failed to load age identities|no identity matched|did not match any of the recipients/

/** The hint, or undefined when no age key failed for want of an identity. */
export function ageIdentityHint(groups: readonly GroupResult[], env: Readonly<Record<string, string | undefined>>): string | undefined {
  const recipients = groups.flatMap((g) => g.attempts).filter((a) => a.type === 'age' && a.reason !== undefined && NO_IDENTITY.test(a.reason))
  if (recipients.length === 0) return undefined
  // Values of SOPS_AGE_KEY (an identity) and SOPS_AGE_KEY_CMD (may hold a token) are never shown.
  const set = (name: string) => `${name} (${env[name] ? 'set' : 'not set'})`
  const file = (where: string) => `${where} (${fs.existsSync(where) ? 'exists' : 'missing'})`
  const keyFile = env[SOPS_AGE_KEY_FILE]
  const places = [
    set(SOPS_AGE_KEY),
    keyFile ? `${SOPS_AGE_KEY_FILE}=${file(keyFile)}` : set(SOPS_AGE_KEY_FILE),
    set(SOPS_AGE_KEY_CMD),
    file(defaultAgeKeyFile(env)),
  ]
  const unique = [...new Set(recipients.map((a) => a.id))]
  return `tsops looked for age identities in ${places.join(', ')}; none holds the identity of this file's age recipient${unique.length > 1 ? 's' : ''} ${unique.join(', ')}.`
}
