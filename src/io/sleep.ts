/** Block the thread for `ms` without spinning a core (lock polling, EAGAIN back-off). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
