/** What `publish` hands a destination, and what a destination promises (sops publish.Destination). */
import type { TreeMap } from '../core/tree.js'
import type { KeyContext } from '../keys/types.js'

export type PublishEnv = Readonly<Record<string, string | undefined>>

/** S3 and GCS: they receive the encrypted file. */
export interface FileDestination {
  kind: 'file'
  /** sops's Path(): where `name` goes, as the confirmation prompt names it. */
  describe(name: string): string
  upload(bytes: Uint8Array, name: string, env: PublishEnv): Promise<void>
}

/** Vault KV: receives the decrypted values. */
export interface ValuesDestination {
  kind: 'values'
  describe(name: string): string
  upload(branches: readonly TreeMap[], name: string, io: PublishIo): Promise<void>
}

export type Destination = FileDestination | ValuesDestination

export interface PublishIo {
  ctx: KeyContext
  /** A warning sops's PUBLISH logger prints (always shown). */
  warn: (message: string) => void
  /** An info line of the same logger (shown with --verbose only). */
  info: (message: string) => void
}
