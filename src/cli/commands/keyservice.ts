/**
 * `tsops keyservice [--network tcp|unix] [--address ADDR] [--prompt] [--verbose]`: sops's key
 * service server (cmd/sops/subcommand/keyservice). Clients (`--keyservice tcp://HOST:PORT`) have
 * their data keys wrapped and unwrapped here with the keys this process holds. Serves until
 * SIGINT or SIGTERM, then stops, removes its unix socket and exits 0.
 */
import { createInterface } from 'node:readline'
import { GenericError } from '../../core/errors.js'
import { writeStdout } from '../../io/stdio.js'
import { keyTitle } from '../../keyservice/keys.js'
import { ListenError, startKeyServiceServer, type RequestKind, type RunningKeyService } from '../../keyservice/server.js'
import type { KeyEntry } from '../../keys/types.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { sopsLogLine } from '../sopslog.js'

/** sops's defaults for --network and --address. */
const DEFAULT_NETWORK = 'tcp'
const DEFAULT_ADDRESS = '127.0.0.1:5000'

export async function run(ctx: CliContext, args: Args): Promise<number> {
  const network = args.string('network') ?? args.string('net') ?? DEFAULT_NETWORK
  const address = args.string('address') ?? args.string('addr') ?? DEFAULT_ADDRESS
  const log = serverLog(ctx)
  // Listened for before anything is served: a signal must never find the default action (death
  // without removing the socket), however early it comes.
  const stopped = terminationSignal()
  let server: RunningKeyService
  try {
    server = await startKeyServiceServer({ network, address, ctx: ctx.keyContext, ...(args.bool('prompt') ? { confirm: stdinConfirm() } : {}) })
  } catch (e) {
    if (!(e instanceof ListenError)) throw e
    if (ctx.persona === 'sops') ctx.stderr(sopsLogLine('error', `Error running keyservice: ${e.message}`))
    throw new GenericError(ctx.persona === 'sops' ? e.message : `cannot start the key service: ${e.message}`, { code: 'KEY_SERVICE', sopsLog: 'fatal' })
  }
  // sops logs the address it was given; tsops names the port really bound (useful with :0).
  log(`Listening on ${network}://${address}`, `key service listening on ${server.url}`)
  const signal = await stopped
  log(`Caught signal ${GO_SIGNAL_NAMES[signal]}: shutting down.`, `caught ${signal}: shutting down`)
  server.close()
  return 0
}

/** The first SIGINT or SIGTERM; later ones are absorbed while the server shuts down. */
function terminationSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => resolve(signal))
  })
}

/** Go's os.Signal names, which sops's log line prints. */
const GO_SIGNAL_NAMES: Partial<Record<NodeJS.Signals, string>> = { SIGINT: 'interrupt', SIGTERM: 'terminated' }

/**
 * sops's KEYSERVICE logger writes info lines only with --verbose; tsops always says where it
 * listens and when it stops (a server's one piece of output), in its own words.
 */
function serverLog(ctx: CliContext): (sopsWords: string, tsopsWords: string) => void {
  return (sopsWords, tsopsWords) => {
    if (ctx.persona === 'tsops') ctx.stderr(`tsops: ${tsopsWords}`)
    else if (ctx.verbose) ctx.stderr(sopsLogLine('info', sopsWords, {}, new Date(), 'KEYSERVICE'))
  }
}

/**
 * `--prompt`: each request, once carried out, waits for y or n on stdin (server.go prompt); one
 * question at a time, however many requests arrive together.
 */
function stdinConfirm(): (kind: RequestKind, key: KeyEntry) => Promise<boolean> {
  const lines = createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]()
  let queue: Promise<unknown> = Promise.resolve()
  const ask = async (kind: RequestKind, key: KeyEntry): Promise<boolean> => {
    for (;;) {
      writeStdout(`\nReceived ${kind} request using ${keyTitle(key)}. Respond to request? (y/n): `)
      const line = await lines.next()
      if (line.done) throw new Error('EOF')
      const answer = String(line.value).trim()
      if (answer === 'y' || answer === 'n') return answer === 'y'
    }
  }
  return (kind, key) => {
    const answer = queue.then(() => ask(kind, key))
    queue = answer.catch(() => undefined)
    return answer
  }
}
