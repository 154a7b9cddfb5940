/**
 * Conflict text: two versions of a file shown as one, git style, with markers only around the
 * lines where they differ (a Myers line diff). The merge driver writes it from two *encrypted*
 * versions (so no plaintext reaches the work tree); `tsops git resolve` splits it back into the
 * two versions and writes the same form from their decrypted text for the editor.
 *
 *   <<<<<<< ours (tsops: …)
 *   (ours' lines)
 *   =======
 *   (theirs' lines)
 *   >>>>>>> theirs (tsops)
 *
 * Text is handled as latin1 so any byte survives the round trip.
 */
import { DEFAULT_MARKER_SIZE } from '../check/markers.js'

type Op = { kind: 'same'; a: number; b: number } | { kind: 'del'; a: number } | { kind: 'ins'; b: number }

/** Lines with their terminators; a final line without `\n` stays as it is. */
export function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/)
  return lines[lines.length - 1] === '' ? lines.slice(0, -1) : lines
}

/** Beyond this many differing lines the two sides are shown as one hunk (bounded time and memory). */
const MAX_EDIT_DISTANCE = 4000

/** Line diff: common prefix and suffix, then Myers on the middle. */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let pre = 0
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++
  const ops: Op[] = []
  for (let i = 0; i < pre; i++) ops.push({ kind: 'same', a: i, b: i })
  const middle = myers(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf))
  for (const op of middle) {
    if (op.kind === 'same') ops.push({ kind: 'same', a: op.a + pre, b: op.b + pre })
    else if (op.kind === 'del') ops.push({ kind: 'del', a: op.a + pre })
    else ops.push({ kind: 'ins', b: op.b + pre })
  }
  for (let i = suf; i > 0; i--) ops.push({ kind: 'same', a: a.length - i, b: b.length - i })
  return ops
}

/** Myers' O((N+M)·D) diff: the shortest edit script from a to b. */
function myers(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length
  const m = b.length
  const max = n + m
  const offset = max + 1
  const v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  let done = false
  for (let d = 0; d <= max && !done; d++) {
    if (d > MAX_EDIT_DISTANCE) return [...a.map((_, i): Op => ({ kind: 'del', a: i })), ...b.map((_, i): Op => ({ kind: 'ins', b: i }))]
    trace.push(v.slice())
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) {
        x++
        y++
      }
      v[offset + k] = x
      if (x >= n && y >= m) {
        done = true
        break
      }
    }
  }
  // Walk the trace back from (n, m).
  const ops: Op[] = []
  let x = n
  let y = m
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d]!
    const k = x - y
    const down = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!)
    const prevK = down ? k + 1 : k - 1
    const prevX = d === 0 ? 0 : vd[offset + prevK]!
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) ops.push({ kind: 'same', a: --x, b: --y })
    if (d > 0) {
      if (down) ops.push({ kind: 'ins', b: --y })
      else ops.push({ kind: 'del', a: --x })
    }
  }
  while (x > 0 && y > 0) ops.push({ kind: 'same', a: --x, b: --y })
  return ops.reverse()
}

export interface ConflictLabels {
  ours: string
  theirs: string
}

function withEol(line: string): string {
  return line.endsWith('\n') ? line : line + '\n'
}

/** Both versions in one text, conflict markers around every differing run of lines. */
export function renderConflict(ours: string, theirs: string, labels: ConflictLabels, markerSize = DEFAULT_MARKER_SIZE): string {
  const a = splitLines(ours)
  const b = splitLines(theirs)
  const size = Math.max(markerSize, DEFAULT_MARKER_SIZE)
  const out: string[] = []
  let delA: string[] = []
  let insB: string[] = []
  const flush = () => {
    if (delA.length === 0 && insB.length === 0) return
    out.push(`${'<'.repeat(size)} ${labels.ours}\n`, ...delA.map(withEol), `${'='.repeat(size)}\n`, ...insB.map(withEol), `${'>'.repeat(size)} ${labels.theirs}\n`)
    delA = []
    insB = []
  }
  for (const op of diffLines(a, b)) {
    if (op.kind === 'same') {
      flush()
      out.push(a[op.a]!)
    } else if (op.kind === 'del') delA.push(a[op.a]!)
    else insB.push(b[op.b]!)
  }
  flush()
  return out.join('')
}

export interface SplitConflict {
  ours: string
  theirs: string
  /** Number of conflict hunks found. */
  hunks: number
}

/**
 * The two versions of a conflict text (a `|||||||` base section, as with diff3 style, is
 * dropped). The marker length is taken from the first `<<<<<<<` line.
 */
export function splitConflict(text: string): SplitConflict {
  const lines = splitLines(text)
  const first = lines.find((l) => /^<{7,}( |\n|$)/.test(l))
  const size = first ? /^<+/.exec(first)![0].length : DEFAULT_MARKER_SIZE
  const is = (ch: string, line: string) => line.startsWith(ch.repeat(size)) && (line.length === size || line[size] === ' ' || line[size] === '\n' || line[size] === '\r')
  const ours: string[] = []
  const theirs: string[] = []
  let state: 'both' | 'ours' | 'base' | 'theirs' = 'both'
  let hunks = 0
  for (const line of lines) {
    if (state === 'both' && is('<', line)) {
      state = 'ours'
      hunks++
    } else if (state === 'ours' && is('|', line)) state = 'base'
    else if ((state === 'ours' || state === 'base') && is('=', line)) state = 'theirs'
    else if (state === 'theirs' && is('>', line)) state = 'both'
    else if (state === 'both') {
      ours.push(line)
      theirs.push(line)
    } else if (state === 'ours') ours.push(line)
    else if (state === 'theirs') theirs.push(line)
  }
  return { ours: ours.join(''), theirs: theirs.join(''), hunks }
}

/** Does the text still hold a conflict marker line (of at least the default size)? */
export function hasConflictMarkers(text: string): boolean {
  return /^(<{7,}|={7,}|>{7,})( .*)?\r?$/m.test(text)
}
