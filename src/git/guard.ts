/**
 * `tsops git pre-commit`: check what is about to be committed — the staged blobs, not the work
 * tree — with the keyless checker. Three git processes whatever the number of files
 * (rev-parse, diff --cached, cat-file --batch); files are parsed in this process.
 */
import path from 'node:path'
import { inspectFile } from '../check/inspect.js'
import { RuleIndex, SNIFF_LIMIT } from '../check/selection.js'
import type { FileReport } from '../check/types.js'
import { detectFormat } from '../formats/registry.js'
import { git } from './exec.js'
import { listStaged, readBlobs } from './staged.js'

export interface GuardOptions {
  cwd: string
  env?: Readonly<Record<string, string | undefined>>
  /** --config: one .sops.yaml for every file instead of the nearest one per directory. */
  config?: string
  warn?: (message: string) => void
}

export interface GuardResult {
  /** Staged regular files considered. */
  staged: number
  /** Reports of the files that were checked (must be encrypted, or carry sops metadata). */
  reports: FileReport[]
}

export async function checkStaged(options: GuardOptions): Promise<GuardResult> {
  const gitOptions = { cwd: options.cwd, env: options.env }
  const top = (await git(['rev-parse', '--show-toplevel'], gitOptions)).toString('utf8').trim()
  const staged = await listStaged(gitOptions)
  const rules = new RuleIndex(options.config, options.warn)
  const must = staged.map((f) => rules.mustBeEncrypted(path.join(top, ...f.path.split('/'))))

  // One read per distinct blob; a blob is kept when some path needs it or it is small enough to sniff.
  const oids = [...new Set(staged.map((f) => f.oid))]
  const required = new Set(staged.filter((_, i) => must[i]).map((f) => f.oid))
  const contents = await readBlobs(oids, (i, size) => required.has(oids[i]!) || size <= SNIFF_LIMIT, gitOptions)
  const byOid = new Map(oids.map((oid, i) => [oid, contents[i]]))

  const reports: FileReport[] = []
  for (const [i, file] of staged.entries()) {
    const bytes = byOid.get(file.oid)
    if (bytes === undefined) {
      // Not read: too large to be a sops file nobody requires — or, if required, missing from git.
      if (must[i]) reports.push({ file: file.path, format: detectFormat(file.path), ok: false, problems: [{ kind: 'unreadable', message: 'cannot be read from the index' }] })
      continue
    }
    const report = await inspectFile(bytes, file.path, must[i]!)
    if (report && !report.ok) report.runFrom = rules.runFrom(path.join(top, ...file.path.split('/')), options.cwd)
    if (report) reports.push(report)
  }
  return { staged: staged.length, reports }
}
