/**
 * Change an encrypted file the way `sops edit` does — same data key, unchanged values keep their
 * ciphertext — using the library modules, so the git tests do not depend on another command.
 */
import fs from 'node:fs'
import { TreeMap, type Value } from '../../src/core/tree.js'
import { detectFormat } from '../../src/formats/registry.js'
import { open } from '../../src/pipeline/open.js'
import { sealDocument } from '../../src/pipeline/encrypt.js'

/** `now`: the new lastmodified (default: the real time). */
export async function editSops(file: string, identity: string, mutate: (root: TreeMap) => void, now?: Date): Promise<void> {
  const name = detectFormat(file)
  const d = await open(fs.readFileSync(file), name, { ctx: { env: {}, ageIdentities: [identity] } })
  const { doc, format } = d
  mutate(doc.branches[0]!)
  sealDocument(format, doc, d.dataKey, {
    keyGroups: d.metadata.keyGroups,
    shamirThreshold: d.metadata.shamirThreshold,
    rules: d.metadata.rules,
    stash: d.stash,
    now,
  })
  d.close()
  fs.writeFileSync(file, format.emit(doc))
}

/** Set a value at a dotted path of maps (creating maps on the way). */
export function setPath(root: TreeMap, dotted: string, value: Value): void {
  const keys = dotted.split('.')
  let node = root
  for (const k of keys.slice(0, -1)) {
    let next = node.get(k)
    if (!(next instanceof TreeMap)) {
      next = new TreeMap()
      node.set(k, next)
    }
    node = next
  }
  node.set(keys[keys.length - 1]!, value)
}

export function deletePath(root: TreeMap, dotted: string): void {
  const keys = dotted.split('.')
  let node: Value | undefined = root
  for (const k of keys.slice(0, -1)) node = node instanceof TreeMap ? node.get(k) : undefined
  if (node instanceof TreeMap) node.delete(keys[keys.length - 1]!)
}
