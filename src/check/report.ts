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
  if (report.commit !== undefined) {
    return `commit ${report.commit} is in history: encrypt the file and rewrite that commit before it is pushed (git rebase -i ${report.commit}~1); once pushed, rotate the secret`
  }
  // A tsops command run where its .sops.yaml is found: `(cd svc && tsops … prod/app.yaml)`.
  const tsops = (command: string) => {
    const at = report.runFrom
    return at ? `(cd ${shellQuote(at.dir)} && tsops ${command} ${shellQuote(at.file)})` : `tsops ${command} ${f}`
  }
  if (kinds.has('merge-conflict')) return `${tsops('git resolve')}${add}`
  if (kinds.has('not-encrypted')) return `${tsops('encrypt -i')}${add}`
  if (kinds.has('plaintext-value') || kinds.has('plaintext-comment')) {
    return `a value was written into ${f} by hand: take it out, add it back with ${tsops('edit')}${add}`
  }
  if (kinds.has('mac')) return `${tsops('decrypt')} shows the full error`
  return `restore ${f} from a good version (git restore ${f}) and make the change with ${tsops('edit')}${add}`
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
    const where = r.commit === undefined ? r.file : `${r.file} (commit ${r.commit})`
    if (r.ok) {
      lines.push(`ok    ${where}`)
      continue
    }
    lines.push(`FAIL  ${where}`)
    for (const p of r.problems) {
      lines.push(`      ${problemLine(r.file, p)}`)
      if (p.excerpt !== undefined) for (const line of p.excerpt.split('\n')) lines.push(`        ${line}`)
    }
    lines.push(`      fix: ${fixFor(r, false)}`)
  }
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** `--json`: stable field names; problems never carry values. */
export function renderJson(reports: readonly FileReport[]): string {
  const { checked, failed } = summarize(reports)
  const files = reports.map((r) => ({
    file: r.file,
    ...(r.commit === undefined ? {} : { commit: r.commit }),
    format: r.format,
    ok: r.ok,
    problems: r.problems.map((p) => ({ kind: p.kind, ...(p.path === undefined ? {} : { path: p.path }), message: p.message, ...(p.count ? { count: p.count } : {}) })),
  }))
  return JSON.stringify({ ok: failed === 0, checked, failed, files }) + '\n'
}
