/**
 * The `sops` metadata block read and written with the key registry's list of key types: core's
 * reader and writer (core/metadata.ts) name no key type, so every caller goes through here.
 */
import { metadataTree as coreMetadataTree, readMetadata as coreReadMetadata, type Metadata } from '../core/metadata.js'
import type { TreeMap } from '../core/tree.js'
import { METADATA_KEY_LISTS } from './registry.js'

export { SOPS_FORMAT_VERSION, isValidSopsVersion, macAad, type Metadata } from '../core/metadata.js'

/** Read and validate the metadata block. `undefined` -> MetadataNotFoundError. */
export function readMetadata(tree: TreeMap | undefined): Metadata {
  return coreReadMetadata(tree, METADATA_KEY_LISTS)
}

/** The metadata block exactly as sops serializes it. */
export function metadataTree(meta: Metadata): TreeMap {
  return coreMetadataTree(meta, METADATA_KEY_LISTS)
}
