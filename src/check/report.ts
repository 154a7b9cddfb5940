/** Rendering check results for people (one line per problem, then how to fix) and machines (JSON). */
import type { FileReport, Problem, ProblemKind } from './types.js'

/** Quote a path for a copy-pasteable shell command (only when it needs it). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}

export function problemLine(file: string, p: Problem): string {
  const count = p.count && p.count > 1 ? ` (${p.count} values)` : ''
  return p.path === undefined ? `${file} ${p.message}${count}` : `${file}: ${p.message}${count}`
}

/** What to run for one failed file; `staged` adds the `git add` step of the pre-commit guard. */
export function fixFor(report: FileReport, staged: boolean): string {
  const f = shellQuote(report.file)
  const kinds = new Set<ProblemKind>(report.problems.map((p) => p.kind))
  const add = staged ? `, then git add ${f}` : ''
  if (kinds.has('merge-conflict')) return `tsops git resolve ${f}${add}`
  if (kinds.has('not-encrypted')) return `tsops encrypt -i ${f}${add}`
  if (kinds.has('plaintext-value') || kinds.has('plaintext-comment')) {
    return `a value was written into ${f} by hand: take it out, add it back with tsops edit ${f}${add}`
  }
  if (kinds.has('mac')) return `tsops decrypt ${f} shows the full error`
  return `restore ${f} from a good version (git restore ${f}) and make the change with tsops edit ${f}${add}`
}

export interface Summary {
  checked: number
  failed: number
}

export function summarize(reports: readonly FileReport[]): Summary {
  return { checked: reports.length, failed: reports.filter((r) => !r.ok).length }
}

/** `tsops check` human output: every checked file, problems indented under failures. */
export function renderText(reports: readonly FileReport[]): string {
  const lines: string[] = []
  for (const r of reports) {
    if (r.ok) {
      lines.push(`ok    ${r.file}`)
      continue
    }
    lines.push(`FAIL  ${r.file}`)
    for (const p of r.problems) lines.push(`      ${problemLine(r.file, p)}`)
    lines.push(`      fix: ${fixFor(r, false)}`)
  }
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** `--json`: stable field names; problems never carry values. */
export function renderJson(reports: readonly FileReport[]): string {
  const { checked, failed } = summarize(reports)
  const files = reports.map((r) => ({
    file: r.file,
    format: r.format,
    ok: r.ok,
    problems: r.problems.map((p) => ({ kind: p.kind, ...(p.path === undefined ? {} : { path: p.path }), message: p.message, ...(p.count ? { count: p.count } : {}) })),
  }))
  return JSON.stringify({ ok: failed === 0, checked, failed, files }) + '\n'
}
