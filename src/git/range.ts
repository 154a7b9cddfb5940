/**
 * `tsops check --since REF`: the guard over history. Rebase and cherry-pick run no commit hook,
 * and `--no-verify` skips it, so CI checks every commit in REF..HEAD: each file version a
 * commit brings (against its first parent, so a merge that adds a file is covered too) is
 * checked as the pre-commit guard would check it when staged. The rules are the current work
 * tree's .sops.yaml files. Two git processes plus one per commit; blobs are read once.
 */
import path from 'node:path'
import { GenericError } from '../core/errors.js'
import { inspectFile } from '../check/inspect.js'
import { RuleIndex, SNIFF_LIMIT } from '../check/selection.js'
import type { FileReport } from '../check/types.js'
import { detectFormat } from '../formats/registry.js'
import { git, type GitOptions } from './exec.js'
import { parseRawDiff, readBlobs, type StagedFile } from './staged.js'

export interface RangeCheckOptions {
  cwd: string
  env?: Readonly<Record<string, string | undefined>>
  /** The commit after which checking starts (REF..HEAD). */
  since: string
  config?: string
  warn?: (message: string) => void
}

interface CommitFile extends StagedFile {
  commit: string
}

/** Every file version the commits in since..HEAD add or change. */
async function changedInRange(since: string, options: GitOptions): Promise<CommitFile[]> {
  const list = (await git(['rev-list', '--reverse', '--parents', `${since}..HEAD`, '--'], options)).toString('utf8')
  const files: CommitFile[] = []
  const seen = new Set<string>()
  for (const line of list.split('\n')) {
    const [commit, parent] = line.trim().split(' ')
    if (!commit) continue
    const against = parent ? [parent, commit] : ['--root', commit]
    const raw = await git(['diff-tree', '-r', '--raw', '-z', '--no-abbrev', '--no-renames', '--no-commit-id', ...against], options)
    for (const f of parseRawDiff(raw).files) {
      const key = `${f.oid}\0${f.path}`
      if (seen.has(key)) continue // the same version of a file is judged once
      seen.add(key)
      files.push({ ...f, commit })
    }
  }
  return files
}

export async function checkCommitRange(options: RangeCheckOptions): Promise<FileReport[]> {
  const gitOptions = { cwd: options.cwd, env: options.env }
  await git(['rev-parse', '--verify', '--quiet', `${options.since}^{commit}`], gitOptions).catch(() => {
    throw new GenericError(`--since ${options.since}: not a commit in this repository`, { code: 'BAD_REVISION',
      hint: 'In CI, fetch the base branch first (e.g. git fetch origin main) and pass --since origin/main.',
    })
  })
  const top = (await git(['rev-parse', '--show-toplevel'], gitOptions)).toString('utf8').trim()
  const files = await changedInRange(options.since, gitOptions)
  const rules = new RuleIndex(options.config, options.warn)
  const must = files.map((f) => rules.mustBeEncrypted(path.join(top, ...f.path.split('/'))))
  const oids = files.map((f) => f.oid)
  const contents = await readBlobs(oids, (i, size) => must[i]! || size <= SNIFF_LIMIT, gitOptions)
  const reports: FileReport[] = []
  for (const [i, file] of files.entries()) {
    const bytes = contents[i]
    const commit = file.commit.slice(0, 12)
    if (bytes === undefined) {
      if (must[i]) reports.push({ file: file.path, commit, format: detectFormat(file.path), ok: false, problems: [{ kind: 'unreadable', message: 'cannot be read from git' }] })
      continue
    }
    const report = await inspectFile(bytes, file.path, must[i]!)
    if (report) reports.push({ ...report, commit })
  }
  return reports
}

