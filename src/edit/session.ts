/**
 * The edit flow (sops edit.go, spec §9.3): write the plaintext to a 0600 file in a private temp
 * dir, run the editor, refuse an unchanged file (exit 200), reopen the editor on invalid input
 * when someone is at the terminal (fail cleanly when not), then re-encrypt with the same data
 * key and IV stash so unchanged values keep their ciphertext.
 *
 * The temp dir is removed on every way out: success, error, and SIGINT/SIGTERM/SIGHUP (the
 * editor is killed, the original file is left untouched, exit 1 "User canceled operation").
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { AlreadyEncryptedError, EmptyDocumentError, FormatError, NotModifiedError, ReadError, TsopsError, emitting } from '../core/errors.js'
import { metadataTree, readMetadata, type Metadata } from '../keys/metadata.js'
import type { Document, EmitOptions, Format } from '../formats/format.js'
import { writeFileAtomic } from '../io/files.js'
import { assertReencryptable, emitEncrypted, reencrypt, type DecryptedKeys } from '../pipeline/reencrypt.js'
import { runEditor } from './editor.js'
import { InvalidEditError } from './errors.js'
import { withEditBuffer } from './buffer.js'

type Env = Readonly<Record<string, string | undefined>>

export interface EditTarget {
  /** The format the user edits in and the result is written in. */
  format: Format
  /** Reads the edited file with -s (plaintext values plus a `sops` metadata block). */
  parseWithMetadata: (bytes: Uint8Array) => Document
  /** Name of the temp file: the original's base name, so editors pick the right syntax. */
  baseName: string
  /** The plaintext to edit (a decrypted file, or the example document for a new one). */
  doc: Document
  /** The data key, metadata and IV stash the result is encrypted with. */
  keys: DecryptedKeys
  /** -s: show (and accept edits to) the metadata block. */
  showMasterKeys: boolean
  emitOptions: EmitOptions
}

export interface EditEnvironment {
  env: Env
  /** The editor command line, without the file. */
  editor: readonly string[]
  /**
   * With someone at the terminal: report the problem and wait for Enter, then the editor
   * reopens. Undefined: an invalid edit fails the command.
   */
  askToRetry?: (problem: TsopsError, signal: AbortSignal) => Promise<void>
  /** Receives the new encrypted file (e.g. writes it); not called when cancelled. */
  commit: (encrypted: Uint8Array) => void
}

interface Edited {
  doc: Document
  /** With -s: the metadata as the user left it. */
  metadata?: Metadata
}

/** Let the user edit `target` and commit the re-encrypted result. */
export async function editEncrypted(target: EditTarget, environment: EditEnvironment): Promise<void> {
  await withEditBuffer(target.baseName, async (tempFile, signal) => {
    const edited = await editUntilValid(target, environment, tempFile, signal)
    const sealed = reencrypt(target.format, edited.doc, target.keys, { metadata: edited.metadata })
    const encrypted = emitEncrypted(target.format, sealed, target.format, target.emitOptions)
    if (signal.aborted) throw signal.reason
    environment.commit(encrypted)
  })
}

async function editUntilValid(target: EditTarget, environment: EditEnvironment, tempFile: string, signal: AbortSignal): Promise<Edited> {
  const initial = initialText(target)
  writeFileAtomic(tempFile, initial, { mode: 0o600 })
  const originalHash = sha256(initial)
  for (;;) {
    await runEditor(environment.editor, tempFile, { env: environment.env, signal })
    const bytes = readEdited(tempFile)
    if (sha256(bytes).equals(originalHash)) throw new NotModifiedError()
    try {
      return parseEdited(target, bytes)
    } catch (err) {
      if (!(err instanceof TsopsError)) throw err
      const problem = describeProblem(err)
      if (!environment.askToRetry) throw problem
      await environment.askToRetry(problem, signal)
    }
  }
}

function initialText(target: EditTarget): Uint8Array {
  const metadata = target.showMasterKeys ? metadataTree(target.keys.metadata) : undefined
  return emitting('Could not marshal tree: ', () => target.format.emit({ branches: target.doc.branches, metadata, origin: target.doc.origin }, target.emitOptions))
}

function readEdited(file: string): Buffer {
  try {
    return fs.readFileSync(file)
  } catch (err) {
    throw new ReadError(`Could not read edited file: ${(err as NodeJS.ErrnoException).code ?? 'unexpected error'}`)
  }
}

/** The edited bytes as a document ready to encrypt, or a TsopsError saying why not. */
function parseEdited(target: EditTarget, bytes: Uint8Array): Edited {
  if (!target.showMasterKeys) {
    const doc = target.format.parse(bytes)
    // A `sops` mapping is lifted into doc.metadata by the parser: ask the format, not the branches.
    if (target.format.hasMetadataKey(doc)) throw new AlreadyEncryptedError()
    assertReencryptable(target.format, doc.branches)
    return { doc }
  }
  // -s: the metadata comes back with the values; the user may have changed keys or rules.
  const doc = target.parseWithMetadata(bytes)
  const metadata = readMetadata(doc.metadata)
  assertReencryptable(target.format, doc.branches)
  return { doc: { ...doc, metadata: undefined }, metadata }
}

function describeProblem(err: TsopsError): TsopsError {
  const hint = 'The original file was not changed.'
  if (err instanceof FormatError) return new InvalidEditError(`Could not load tree, probably due to invalid syntax: ${err.message}`, err, err.hint ? `${err.hint}. ${hint}` : hint)
  if (err instanceof AlreadyEncryptedError || err instanceof EmptyDocumentError) {
    return new InvalidEditError(`Tree not valid for encryption: ${err.message}`, err, hint)
  }
  return new InvalidEditError(`SOPS metadata is invalid: ${err.message}`, err, hint)
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest()
}
