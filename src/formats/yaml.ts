/**
 * The YAML format: sops's YAML store (stores/yaml/store.go on go.yaml.in/yaml/v3 v3.0.4),
 * byte-compatible in both directions.
 *
 *  - parse: yaml-parse.ts (syntax by the `yaml` package, typing and comment placement as yaml.v3
 *    and sops do it);
 *  - emit: yaml-encode.ts builds yaml.v3's event stream the way sops and yaml.v3's encoder do,
 *    and yaml-emitter.ts is a port of the libyaml emitter that writes it.
 *
 * `hasMetadataKey`: parse records in `origin` whether any document had a top-level `sops` key
 * (a mapping one in the first document becomes `metadata`; a non-mapping one stays in the tree),
 * so the check also works for documents whose `sops` key is not valid metadata.
 */
import { EmitError, FormatError, TsopsError } from '../core/errors.js'
import { TreeMap, type Value } from '../core/tree.js'
import type { Document, EmitOptions, Format } from './format.js'
import { encodeBranches, encodeValue } from './yaml-encode.js'
import { isStackOverflow, NESTED_TOO_DEEPLY, parseYamlText } from './yaml-parse.js'

interface YamlOrigin {
  hasSopsKey: boolean
}

const DEFAULT_INDENT = 4

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new FormatError('Error unmarshaling input YAML: yaml: invalid leading UTF-8 octet')
  }
}

/** Any non-tsops failure while parsing is a bug in the input handling; report it as a parse error. */
function asFormatError(err: unknown): TsopsError {
  if (err instanceof TsopsError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new FormatError(`Error unmarshaling input YAML: ${isStackOverflow(message) ? NESTED_TOO_DEEPLY : message}`)
}

/** The emitter port only throws on internal inconsistencies; surface them as EmitError. */
function guardEmit(run: () => string): Uint8Array {
  try {
    return new TextEncoder().encode(run())
  } catch (err) {
    if (err instanceof TsopsError) throw err
    const message = err instanceof Error ? err.message : String(err)
    throw new EmitError(`Error marshaling to YAML: ${isStackOverflow(message) ? NESTED_TOO_DEEPLY : message}`)
  }
}

function indentOf(options: EmitOptions | undefined): number {
  const indent = options?.indent ?? 0
  if (indent < 0) throw new EmitError('YAML Negative indentation not accepted')
  return indent === 0 ? DEFAULT_INDENT : indent
}

/** A top-level `sops` data key would be shadowed by the metadata (sops refuses it too). */
function withMetadata(branch: TreeMap, metadata: TreeMap | undefined): TreeMap {
  if (!metadata) return branch
  if (branch.entry('sops') !== undefined) throw new EmitError("Cannot emit a document with a top-level key named 'sops' next to the sops metadata")
  return new TreeMap([...branch.items, { key: 'sops', value: metadata }])
}

export const yamlFormat: Format = {
  name: 'yaml',
  capabilities: { rawStrings: false, comments: true, multipleDocuments: true, encryptionRules: true, example: 'complex-tree' },
  extensions: ['.yaml', '.yml'],

  parse(bytes: Uint8Array): Document {
    try {
      const parsed = parseYamlText(decodeUtf8(bytes))
      const origin: YamlOrigin = { hasSopsKey: parsed.hasSopsKey }
      return { branches: parsed.branches, metadata: parsed.metadata, origin }
    } catch (err) {
      throw asFormatError(err)
    }
  },

  emit(doc: Document, options?: EmitOptions): Uint8Array {
    const indent = indentOf(options)
    const branches = doc.branches.map((b) => withMetadata(b, doc.metadata))
    return guardEmit(() => encodeBranches(branches, indent))
  },

  emitValue(value: Value): Uint8Array {
    return guardEmit(() => encodeValue(value))
  },

  hasMetadataKey(doc: Document): boolean {
    if (doc.metadata !== undefined) return true
    const origin = doc.origin as YamlOrigin | undefined
    if (origin?.hasSopsKey) return true
    return doc.branches.some((b) => b.entry('sops') !== undefined)
  },
}
