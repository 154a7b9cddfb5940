/**
 * age key generation and the default key file (`sops keygen`, tests): like `age-keygen -o`.
 */
import { constants as fsConstants } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { GenericError } from '../core/errors.js'
import { errorText, loadAge } from './age-common.js'
import { parseIdentities, readIdentityFile, userConfigDir } from './age-identities.js'

// ---------------------------------------------------------------------------------------------
// Default key file and keygen

/** `<UserConfigDir>/sops/age/keys.txt`, with sops's macOS XDG_CONFIG_HOME override. */
export function defaultAgeKeyFile(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): string {
  // Where Go finds no config dir, keygen still needs a place: the account's home.
  const found = userConfigDir(env, platform)
  const dir = 'dir' in found ? found : userConfigDir({ HOME: os.homedir() }, platform)
  return path.join('dir' in dir ? dir.dir : os.homedir(), 'sops', 'age', 'keys.txt')
}

export async function generateAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  const age = await loadAge()
  const identity = await age.generateX25519Identity()
  return { identity, recipient: await age.identityToRecipient(identity) }
}

/**
 * Create the default key file like `age-keygen -o` (0600; parent dirs 0700). An existing file is
 * never overwritten: its first identity's recipient is returned with created: false.
 */
export async function keygen(
  env: Readonly<Record<string, string | undefined>>,
  now: Date = new Date(),
): Promise<{ path: string; recipient: string; created: boolean }> {
  const file = defaultAgeKeyFile(env)
  const existing = readIdentityFile(file)
  if ('text' in existing) return { path: file, recipient: await firstRecipient(existing.text, file), created: false }

  const { identity, recipient } = await generateAgeIdentity()
  const text = `# created: ${rfc3339Local(now)}\n# public key: ${recipient}\n${identity}\n`
  const { chmod, mkdir, readFile, writeFile } = await import('node:fs/promises')
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  try {
    // 'wx' = O_CREAT|O_EXCL: a file created concurrently is never clobbered.
    await writeFile(file, text, { mode: 0o600, flag: fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    return { path: file, recipient: await firstRecipient(await readFile(file, 'utf8'), file), created: false }
  }
  await chmod(file, 0o600) // in case a umask or odd filesystem widened it
  return { path: file, recipient, created: true }
}

async function firstRecipient(text: string, file: string): Promise<string> {
  let first: ReturnType<typeof parseIdentities>[number] | undefined
  try {
    first = parseIdentities(text, file)[0]
  } catch (e) {
    throw new GenericError(`age key file ${file}: ${errorText(e)}`, { code: 'BAD_IDENTITY_FILE' })
  }
  if (!first) throw new GenericError(`age key file ${file} exists but contains no age identity`, { code: 'BAD_IDENTITY_FILE' })
  // A plugin identity's recipient is the plugin's to tell (age-plugin-NAME), not ours.
  if (typeof first.identity !== 'string') throw new GenericError(`age key file ${file}: its first identity is a plugin identity, whose recipient tsops cannot derive`, { code: 'BAD_IDENTITY_FILE' })
  const age = await loadAge()
  try {
    return await age.identityToRecipient(first.identity)
  } catch {
    throw new GenericError(`age key file ${file}: malformed secret key`, { code: 'BAD_IDENTITY_FILE' })
  }
}

/** Go's time.RFC3339 in local time, as age-keygen writes it (`Z` when the offset is zero). */
function rfc3339Local(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  const base = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  const offset = -d.getTimezoneOffset()
  if (offset === 0) return `${base}Z`
  const abs = Math.abs(offset)
  return `${base}${offset < 0 ? '-' : '+'}${p(Math.floor(abs / 60))}:${p(abs % 60)}`
}
