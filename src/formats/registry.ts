/**
 * The formats tsops knows: names for --input-type/--output-type, detection by file name, and
 * lazy loading so a JSON decrypt never loads the YAML or TOML parsers.
 */
import path from 'node:path'
import { EmitError, GenericError, TsopsError } from '../core/errors.js'
import type { Document, Format, FormatName } from './format.js'

interface FormatEntry {
  name: FormatName
  extensions: readonly string[]
  load: () => Promise<Format>
  /** How an encrypted file of this format is read, when it differs from `parse`. */
  loadEncryptedParser?: () => Promise<(bytes: Uint8Array) => Document>
}

const FORMATS: readonly FormatEntry[] = [
  { name: 'yaml', extensions: ['.yaml', '.yml'], load: async () => (await import('./yaml.js')).yamlFormat },
  {
    name: 'json',
    extensions: ['.json'],
    load: async () => (await import('./json.js')).jsonFormat,
    loadEncryptedParser: async () => (await import('./json.js')).parseEncryptedJson,
  },
  { name: 'dotenv', extensions: ['.env'], load: async () => (await import('./dotenv.js')).dotenvFormat },
  { name: 'ini', extensions: ['.ini'], load: async () => (await import('./ini.js')).iniFormat },
  { name: 'toml', extensions: ['.toml'], load: async () => (await import('./toml.js')).tomlFormat },
  {
    name: 'binary',
    extensions: [],
    load: async () => (await import('./binary.js')).binaryFormat,
    loadEncryptedParser: async () => (await import('./binary.js')).parseEncryptedBinary,
  },
]

export const FORMAT_NAMES: readonly FormatName[] = FORMATS.map((f) => f.name)

export function isFormatName(name: string): name is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(name)
}

/** Detection by suffix, like sops: anything unknown (and stdin without a name) is binary. */
export function detectFormat(fileName: string | undefined): FormatName {
  if (!fileName) return 'binary'
  // By suffix, like sops's strings.HasSuffix: a file named just `.env` is dotenv too.
  const name = path.basename(fileName).toLowerCase()
  return FORMATS.find((f) => f.extensions.some((ext) => name.endsWith(ext)))?.name ?? 'binary'
}

/** An explicit --input-type/--output-type, else detection from the file name. */
export function resolveFormatName(explicit: string | undefined, fileName: string | undefined): FormatName {
  if (explicit === undefined || explicit === '') return detectFormat(fileName)
  if (!isFormatName(explicit)) {
    throw new GenericError(`unknown file type ${JSON.stringify(explicit)}`, { code: 'UNKNOWN_FORMAT', hint: `Use one of: ${FORMAT_NAMES.join(', ')}.` })
  }
  return explicit
}

function entry(name: FormatName): FormatEntry {
  const found = FORMATS.find((f) => f.name === name)
  if (!found) throw new GenericError(`unknown file type ${name}`, { code: 'UNKNOWN_FORMAT' })
  return found
}

export function loadFormat(name: FormatName): Promise<Format> {
  return entry(name).load()
}

/** The parser for an encrypted file of this format (binary files are stored as JSON). */
export async function loadEncryptedParser(name: FormatName): Promise<(bytes: Uint8Array) => Document> {
  const e = entry(name)
  if (e.loadEncryptedParser) return e.loadEncryptedParser()
  const format = await e.load()
  return (bytes) => format.parse(bytes)
}

/**
 * Before an encrypted file replaces its plaintext (`encrypt -i`): it must read back as an
 * encrypted file of its format, so a writer/reader mismatch can never leave the user with a
 * file neither tool opens and no plaintext. Costs one parse of the output.
 */
export async function assertReadsBack(name: FormatName, bytes: Uint8Array): Promise<void> {
  let metadata: unknown
  try {
    metadata = (await loadEncryptedParser(name))(bytes).metadata
  } catch (err) {
    const reason = err instanceof TsopsError ? err.message : 'unexpected error'
    throw new EmitError(`The encrypted ${name} output does not read back (${reason}); the file was not changed`)
  }
  if (metadata === undefined) throw new EmitError(`The encrypted ${name} output does not read back (no sops metadata); the file was not changed`)
}
