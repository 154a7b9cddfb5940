/**
 * The staged side of a commit: which paths change, and their blobs' contents, read from the
 * index (never the work tree, which may differ) with one `git diff` and one `git cat-file
 * --batch` whatever the number of files.
 */
import { git, runGit, GitError, type GitOptions } from './exec.js'

export interface StagedFile {
  /** Repository-relative, `/`-separated, exactly as git names it. */
  path: string
  /** The staged blob. */
  oid: string
}

/** Regular files only: submodules (160000) and symbolic links (120000) hold no secrets. */
const FILE_MODES = new Set(['100644', '100755'])

/**
 * `git diff --cached --raw -z` for every changed path, whatever its status: added, copied,
 * modified, renamed, type-changed (a symbolic link replaced by a file) and unmerged. The raw
 * form carries the staged blob id, so no per-path lookup is needed and any path (spaces,
 * newlines) is safe. An unmerged path has no single staged blob: each of its index stages
 * (base, ours, theirs) is checked under its name.
 */
export async function listStaged(options: GitOptions): Promise<StagedFile[]> {
  const out = await git(['diff', '--cached', '--raw', '-z', '--no-abbrev', '--no-ext-diff', '--no-renames'], options)
  const { files, unmerged } = parseRawDiff(out)
  if (unmerged.length === 0) return files
  const stages = await git(['ls-files', '-u', '-z', '--', ...unmerged.map((p) => `:(literal)${p}`)], options)
  return [...files, ...parseStages(stages)]
}

export interface RawDiff {
  files: StagedFile[]
  /** Paths in conflict (status U): their content is in the index stages. */
  unmerged: string[]
}

export function parseRawDiff(out: Buffer): RawDiff {
  const tokens = out.toString('utf8').split('\0')
  const files: StagedFile[] = []
  const unmerged: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const header = tokens[i]!
    if (!header.startsWith(':')) continue
    // :<old mode> <new mode> <old oid> <new oid> <status>[score]
    const [, newMode, , newOid, status] = header.slice(1).split(' ')
    const twoPaths = status !== undefined && (status.startsWith('R') || status.startsWith('C'))
    const path = tokens[twoPaths ? i + 2 : i + 1]
    i += twoPaths ? 2 : 1
    if (path === undefined || newOid === undefined || newMode === undefined) continue
    if (status === 'U') unmerged.push(path)
    else if (FILE_MODES.has(newMode)) files.push({ path, oid: newOid })
  }
  return { files, unmerged }
}

/** One index stage of an unmerged path: 1 base, 2 ours, 3 theirs. */
export interface StageEntry extends StagedFile {
  stage: number
}

/** `git ls-files -u -z` records (`<mode> <oid> <stage>\t<path>`) of regular files. */
export function parseStageEntries(out: Buffer): StageEntry[] {
  const entries: StageEntry[] = []
  for (const record of out.toString('utf8').split('\0')) {
    const m = /^(\d+) ([0-9a-f]+) ([123])\t([\s\S]*)$/.exec(record)
    if (m && FILE_MODES.has(m[1]!)) entries.push({ path: m[4]!, oid: m[2]!, stage: Number(m[3]) })
  }
  return entries
}

/** The stages to check: one entry per distinct blob and path. */
export function parseStages(out: Buffer): StagedFile[] {
  const seen = new Set<string>()
  return parseStageEntries(out).filter((e) => {
    const key = `${e.oid}\0${e.path}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * Parses `git cat-file --batch` output as it streams in. `want(i, size)` decides per object
 * whether its content is kept; unwanted content is skipped without being buffered, so a large
 * staged asset costs a pass through the pipe and no memory.
 */
export class BatchReader {
  readonly contents: (Buffer | undefined)[] = []
  private pending = Buffer.alloc(0)
  private remaining = 0
  private keep = false
  private parts: Buffer[] = []

  constructor(private readonly want: (index: number, size: number) => boolean) {}

  push(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = Buffer.alloc(0)
    let off = 0
    while (off < buf.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, buf.length - off)
        if (this.keep) this.parts.push(buf.subarray(off, off + n))
        this.remaining -= n
        off += n
        if (this.remaining === 0) this.finishObject()
        continue
      }
      const nl = buf.indexOf(10, off)
      if (nl === -1) {
        this.pending = Buffer.from(buf.subarray(off))
        return
      }
      const header = buf.toString('latin1', off, nl)
      off = nl + 1
      const m = /^\S+ \S+ (\d+)$/.exec(header)
      if (!m) {
        // `<oid> missing` (or ambiguous): nothing follows the header.
        this.contents.push(undefined)
        continue
      }
      const size = Number(m[1])
      this.keep = this.want(this.contents.length, size)
      this.parts = []
      this.remaining = size + 1 // the content, then a LF
    }
  }

  private finishObject(): void {
    if (!this.keep) {
      this.contents.push(undefined)
      return
    }
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)
    this.parts = []
    this.contents.push(all.subarray(0, all.length - 1))
  }

  get complete(): boolean {
    return this.remaining === 0 && this.pending.length === 0
  }
}

/** Contents of the given blobs, in order (undefined where `want` said no or git has none). */
export async function readBlobs(oids: readonly string[], want: (index: number, size: number) => boolean, options: GitOptions): Promise<(Buffer | undefined)[]> {
  if (oids.length === 0) return []
  const reader = new BatchReader(want)
  const r = await runGit(['cat-file', '--batch'], { ...options, input: oids.join('\n') + '\n', onStdout: (c) => reader.push(c) })
  if (r.code !== 0 || !reader.complete || reader.contents.length !== oids.length) {
    throw new GitError(`git cat-file --batch failed: ${r.stderr.trim().split('\n')[0] || 'truncated output'}`)
  }
  return reader.contents
}

/** The index stages of an unmerged path: 1 base (absent when both sides added it), 2 ours, 3 theirs. */
export interface UnmergedStages {
  base?: Buffer
  ours: Buffer
  theirs: Buffer
}

/**
 * The versions git keeps in the index while `file` (a path as given, relative to options.cwd)
 * is unmerged; undefined when it is not (no conflict, or already `git add`ed).
 */
export async function readUnmergedStages(file: string, options: GitOptions): Promise<UnmergedStages | undefined> {
  const r = await runGit(['ls-files', '-u', '-z', '--', file], options)
  if (r.code !== 0) return undefined
  const oids = new Map(parseStageEntries(r.stdout).map((e) => [e.stage, e.oid]))
  const ours = oids.get(2)
  const theirs = oids.get(3)
  if (ours === undefined || theirs === undefined) return undefined
  const base = oids.get(1)
  const wanted = base === undefined ? [ours, theirs] : [ours, theirs, base]
  const [o, t, b] = await readBlobs(wanted, () => true, options)
  if (!o || !t || (base !== undefined && !b)) return undefined
  return { base: b, ours: o, theirs: t }
}
