/** Answers typed (or piped) on stdin, one line at a time, for commands that ask several questions in one run. */
import readline from 'node:readline'

export class StdinLines {
  private rl: readline.Interface | undefined
  private readonly lines: string[] = []
  private waiting: ((line: string | undefined) => void) | undefined
  private closed = false

  /** The next line without its line break; undefined at the end of input. */
  next(): Promise<string | undefined> {
    if (!this.rl) {
      this.rl = readline.createInterface({ input: process.stdin, terminal: false })
      this.rl.on('line', (line) => this.deliver(line))
      this.rl.on('close', () => {
        this.closed = true
        this.deliver(undefined)
      })
    }
    const queued = this.lines.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.closed) return Promise.resolve(undefined)
    return new Promise((resolve) => (this.waiting = resolve))
  }

  private deliver(line: string | undefined): void {
    const waiting = this.waiting
    this.waiting = undefined
    if (waiting) waiting(line)
    else if (line !== undefined) this.lines.push(line)
  }

  close(): void {
    this.rl?.close()
  }
}
