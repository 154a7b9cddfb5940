/**
 * A key service as a process of its own (`tsops keyservice`, real `sops keyservice`), for tests
 * that talk to it over 127.0.0.1 or a unix socket. Started with a line to wait for on stderr
 * (tsops says where it listens; sops does with --verbose); stopped with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'

export interface ServiceProcess {
  child: ChildProcess
  /** Everything written to stderr so far. */
  stderr(): string
  stdout(): string
  /** Send `signal` and wait for the exit: the exit code (or 128+n for a signal death). */
  stop(signal?: NodeJS.Signals): Promise<number>
}

export function startServiceProcess(command: readonly string[], env: Record<string, string | undefined>, ready: RegExp, timeoutMs = 20_000): Promise<ServiceProcess> {
  const child = spawn(command[0]!, command.slice(1), { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] })
  let err = ''
  let out = ''
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 130))))
  const service: ServiceProcess = {
    child,
    stderr: () => err,
    stdout: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`key service did not start in ${timeoutMs} ms; stderr:\n${err}`))
    }, timeoutMs)
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8')
      if (ready.test(err)) {
        clearTimeout(timer)
        resolve(service)
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`key service exited (${code}) before it was ready; stderr:\n${err}`))
    })
  })
}

/** A TCP port free on 127.0.0.1 right now (for a server that cannot be told to pick one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
