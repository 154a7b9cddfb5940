/**
 * `tsops git textconv FILE`: the decrypted text of an encrypted file, for `git diff`, `git log
 * -p` and `git show` (diff.tsops.textconv). One data-key unwrap. Anything it cannot decrypt —
 * no key, a plaintext or non-sops file, garbage, a bad MAC — is printed exactly as stored, with
 * one line on stderr saying why, and never fails the diff.
 */
import type { FormatName } from '../formats/format.js'
import { resolveFormatName } from '../formats/registry.js'
import { readInput } from '../io/files.js'
import type { KeyContext } from '../keys/types.js'
import { open } from '../pipeline/open.js'
import { firstLine, loadDriverFormat, parseSealed } from './decrypt.js'

/**
 * Set by bin/tsops-textconv on the `tsops git textconv` it runs when no agent answered: start
 * one on this socket (textconv-agent.ts).
 */
export const AGENT_SOCKET_ENV = 'TSOPS_TEXTCONV_AGENT'

export interface TextconvResult {
  bytes: Uint8Array
  /** Set when the file is shown as stored: one line, no secret. */
  notice?: string
}

export async function textconv(bytes: Uint8Array, format: FormatName, ctx: KeyContext, decryptionOrder?: readonly string[]): Promise<TextconvResult> {
  const f = await loadDriverFormat(format)
  let sealed
  try {
    sealed = parseSealed(bytes, f)
  } catch (err) {
    return { bytes, notice: `shown as stored: invalid sops metadata (${firstLine(err)})` }
  }
  if (!sealed) return { bytes, notice: 'shown as stored: not a sops-encrypted file' }
  try {
    const opened = await open(sealed, format, { ctx, decryptionOrder, keepIvs: false })
    opened.close() // only the text is shown
    return { bytes: f.format.emit({ branches: sealed.doc.branches, metadata: undefined, origin: sealed.doc.origin }) }
  } catch (err) {
    return { bytes, notice: `shown encrypted: ${firstLine(err)}` }
  }
}

/**
 * `tsops git textconv FILE` itself: the file read, its format from --input-type or its name.
 * The textconv agent (textconv-agent.ts) runs exactly this, so both give the same bytes.
 */
export async function textconvFile(file: string, inputType: string | undefined, ctx: KeyContext, decryptionOrder?: readonly string[]): Promise<TextconvResult> {
  return textconv(readInput(file), resolveFormatName(inputType, file), ctx, decryptionOrder)
}
