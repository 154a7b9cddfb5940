/**
 * `sops filestatus` semantics (spec §9.1): "encrypted" means the metadata loads and its
 * `version` and `mac` are non-empty; no metadata at all is "not encrypted"; any other load
 * failure is an error.
 *
 * sops does not check that `version` is semver here (only decrypt/edit do), while readMetadata
 * does; so the version is set aside before validating everything else, as sops's loader would.
 */
import { readMetadata, SOPS_FORMAT_VERSION } from '../keys/metadata.js'
import { Comment, TreeMap } from '../core/tree.js'
import type { FormatName } from '../formats/format.js'
import { parseEncryptedDocument } from '../pipeline/open.js'

function versionOf(meta: TreeMap): string {
  for (const e of meta.entries()) if (e.key.toLowerCase() === 'version') return typeof e.value === 'string' ? e.value : e.value === null ? '' : String(e.value)
  return ''
}

function withValidVersion(meta: TreeMap): TreeMap {
  const items = meta.items.filter((i) => i instanceof Comment || i.key.toLowerCase() !== 'version')
  return new TreeMap([...items, { key: 'version', value: SOPS_FORMAT_VERSION }])
}

export async function fileStatus(bytes: Uint8Array, format: FormatName): Promise<{ encrypted: boolean }> {
  const doc = await parseEncryptedDocument(bytes, format)
  if (doc.metadata === undefined) return { encrypted: false }
  const version = versionOf(doc.metadata)
  const metadata = readMetadata(withValidVersion(doc.metadata))
  return { encrypted: version !== '' && metadata.mac !== '' }
}
