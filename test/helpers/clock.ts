// A fake clock for code that takes one (the file lock's wait, LockOptions.clock): time moves only
// when the code under test sleeps, so a test of a 300 ms wait takes no time and can check every
// sleep it made. `onSleep` runs after each sleep (e.g. to release a lock on the third poll).
import type { LockClock } from '../../src/io/lock.js'

export interface FakeClock extends LockClock {
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[]
  /** Milliseconds slept in total. */
  slept(): number
}

export function fakeClock(onSleep: (sleeps: readonly number[]) => void = () => undefined): FakeClock {
  let now = 0
  const sleeps: number[] = []
  const sleepSync = (ms: number) => {
    sleeps.push(ms)
    now += ms
    onSleep(sleeps)
  }
  return {
    sleeps,
    now: () => now,
    sleepSync,
    sleep: async (ms) => sleepSync(ms),
    slept: () => sleeps.reduce((a, b) => a + b, 0),
  }
}
