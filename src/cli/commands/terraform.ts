/**
 * `tsops decrypt --terraform [FILE]`: Terraform's `external` data source protocol.
 *
 * Terraform runs the program with its `query` as a JSON object of strings on stdin and reads one
 * JSON object of strings from stdout; anything on stderr plus a non-zero exit is shown as the
 * error. So: with FILE, decrypt it; without, read `{"file": "…"}` (and optionally
 * `"input_type"`) from stdin. The result is the decrypted tree flattened to string values
 * (`db.password`, `hosts.0`, numbers and booleans as text).
 */
import { ConflictingParametersError, GenericError } from '../../core/errors.js'
import { TreeMap, TreeSeq } from '../../core/tree.js'
import { resolveFormatName } from '../../formats/registry.js'
import { readInput, writeStdout } from '../../io/files.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import { openEncrypted } from '../../api/open.js'
import { flatJson, flattenTree } from '../../api/flat.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { parseTreePath, type PathPart } from '../treepath.js'
import { valueAt } from '../../tree/path.js'

interface Request {
  file: string
  inputType: string | undefined
}

const QUERY_KEYS = new Set(['file', 'input_type'])
const QUERY_EXAMPLE = '{"file": "secrets.enc.yaml"}'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  // stdout is Terraform's result: anything else written there would break the protocol.
  for (const flag of ['in-place', 'output'] as const) {
    if (args.has(flag)) throw new ConflictingParametersError(`--terraform prints its result for Terraform; it cannot be combined with --${flag}`)
  }
  const request = rest[0] !== undefined ? { file: rest[0], inputType: args.string('input-type') } : parseQuery(readInput(undefined))
  const extract = args.string('extract')
  const name = args.string('filename-override') ?? request.file
  const format = resolveFormatName(request.inputType, name)
  const bytes = readInput(request.file)
  const opened = await openEncrypted(bytes, format, {
    ctx: ctx.keyContext,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
  })
  opened.close() // only the values are needed
  const root = opened.doc.branches[0] ?? new TreeMap()
  const subtree = extract === undefined ? root : extractMap(root, parseTreePath(extract))
  writeStdout(Buffer.from(flatJson(flattenTree(subtree)), 'utf8'))
  return 0
}

/** Terraform's query: a JSON object whose values are all strings. */
export function parseQuery(input: Uint8Array): Request {
  const text = Buffer.from(input).toString('utf8').trim()
  if (text === '') throw queryError('no query on standard input')
  let query: unknown
  try {
    query = JSON.parse(text)
  } catch {
    throw queryError('the query on standard input is not valid JSON')
  }
  if (query === null || typeof query !== 'object' || Array.isArray(query)) throw queryError('the query must be a JSON object')
  const fields = query as Record<string, unknown>
  for (const [key, value] of Object.entries(fields)) {
    if (!QUERY_KEYS.has(key)) throw queryError(`unknown query key ${JSON.stringify(key)} (known: file, input_type)`)
    if (typeof value !== 'string') throw queryError(`query value ${JSON.stringify(key)} must be a string`)
  }
  const file = fields.file
  if (typeof file !== 'string' || file === '') throw queryError('the query has no "file"')
  const inputType = fields.input_type as string | undefined
  return { file, inputType: inputType === '' ? undefined : inputType }
}

function queryError(what: string): GenericError {
  return new GenericError(`decrypt --terraform: ${what}`, { code: 'TERRAFORM_QUERY',
    hint: `Give the file as an argument, or pass a query such as ${QUERY_EXAMPLE} (Terraform: query = { file = "…" }).`,
  })
}

/** --extract narrows the result to one map (Terraform needs an object, so a scalar is an error). */
function extractMap(root: TreeMap, parts: PathPart[]): TreeMap {
  const node = valueAt(root, parts)
  if (node instanceof TreeMap) return node
  if (node instanceof TreeSeq) return new TreeMap(node.values().map((value, i) => ({ key: String(i), value })))
  throw new GenericError('--terraform --extract must select a map or a list: Terraform expects an object', { code: 'TERRAFORM_NOT_OBJECT' })
}
