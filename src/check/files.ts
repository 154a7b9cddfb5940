/**
 * `tsops check PATH…`: named files are always checked (they must be encrypted); directories are
 * walked, skipping `.git` and `node_modules`, and each file found goes through the selection
 * policy (selection.ts). Symbolic links are not followed inside directories.
 */
import fs from 'node:fs'
import path from 'node:path'
import { NoFileError, ReadError } from '../core/errors.js'
import type { FormatName } from '../formats/format.js'
import { inspectFile, type InspectOptions } from './inspect.js'
import { RuleIndex, SNIFF_LIMIT } from './selection.js'
import type { FileReport } from './types.js'

const SKIPPED_DIRS = new Set(['.git', 'node_modules'])

interface Target {
  abs: string
  /** As shown in reports: relative to the working directory when inside it. */
  display: string
  /** Named on the command line: must be encrypted. */
  explicit: boolean
}

function display(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs)
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/')
}

function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch (err) {
    throw new ReadError(`Error reading directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'unexpected error'}`)
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) walk(p, out)
    } else if (e.isFile()) out.push(p)
  }
}

export function collectTargets(paths: readonly string[], cwd: string): Target[] {
  const targets: Target[] = []
  for (const given of paths) {
    const abs = path.resolve(cwd, given)
    const stat = fs.statSync(abs, { throwIfNoEntry: false })
    if (!stat) throw new NoFileError(`Error: cannot operate on non-existent file "${given}"`)
    if (stat.isDirectory()) {
      const files: string[] = []
      walk(abs, files)
      for (const f of files) targets.push({ abs: f, display: display(f, cwd), explicit: false })
    } else targets.push({ abs, display: display(abs, cwd), explicit: true })
  }
  return targets
}

export interface CheckPathsOptions extends InspectOptions {
  cwd: string
  config?: string
  warn?: (message: string) => void
  format?: FormatName
}

function readFile(abs: string): Buffer {
  try {
    return fs.readFileSync(abs)
  } catch (err) {
    throw new ReadError(`Error reading file ${abs}: ${(err as NodeJS.ErrnoException).code ?? 'unexpected error'}`)
  }
}

/** Check every selected file under `paths`; reports in walk order. */
export async function checkPaths(paths: readonly string[], options: CheckPathsOptions): Promise<FileReport[]> {
  const rules = new RuleIndex(options.config, options.warn)
  const reports: FileReport[] = []
  for (const t of collectTargets(paths, options.cwd)) {
    const must = t.explicit || rules.mustBeEncrypted(t.abs)
    // A file nothing requires to be encrypted is only worth reading when it may be a sops file.
    if (!must && fs.statSync(t.abs).size > SNIFF_LIMIT) continue
    const report = await inspectFile(readFile(t.abs), t.display, must, { format: t.explicit ? options.format : undefined, verify: options.verify })
    if (report && !report.ok) report.runFrom = rules.runFrom(t.abs, options.cwd)
    if (report) reports.push(report)
  }
  return reports
}
