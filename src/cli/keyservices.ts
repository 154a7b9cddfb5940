/**
 * `--keyservice URI` (repeatable, SOPS_KEYSERVICE) and `--enable-local-keyservice`
 * (SOPS_ENABLE_LOCAL_KEYSERVICE): which key services a command's master keys are used through,
 * as sops's keyservices(c) builds the list: this process first unless disabled, then each URI in
 * order. With neither flag nothing changes (this process alone) and no gRPC code is loaded.
 */
import type { KeyService } from '../keys/types.js'
import { GO_FALSE, GO_TRUE, type Args } from './args.js'
import type { CliContext } from './context.js'
import { GenericError } from '../core/errors.js'
import { goQuote, sopsLogLine } from './sopslog.js'

const ENABLE_LOCAL_ENV = 'SOPS_ENABLE_LOCAL_KEYSERVICE'

/** Sets ctx.keyContext.keyServices when the flags ask for anything but the local service alone. */
export async function useKeyServices(ctx: CliContext, args: Args): Promise<void> {
  const uris = args.list('keyservice')
  const local = localServiceEnabled(args, ctx.env)
  if (uris.length === 0 && local) return
  // Loaded only here: a command without these flags (and --version, help, the git hook) must not
  // pay for the key registry at start-up.
  const { LOCAL_KEY_SERVICE } = await import('../keys/datakey.js')
  const services: KeyService[] = local ? [LOCAL_KEY_SERVICE] : []
  if (uris.length > 0) {
    const { describeAddress, parseKeyServiceUri, RemoteKeyService } = await import('../keyservice/client.js')
    for (const uri of uris) {
      const address = parseKeyServiceUri(uri)
      if (address === undefined) {
        if (ctx.persona === 'sops') ctx.stderr(sopsLogLine('warning', 'Error parsing URI for keyservice, skipping', { uri }))
        else ctx.stderr(`tsops: warning: cannot parse key service URI ${JSON.stringify(uri)}, skipping it`)
        continue
      }
      // (sops logs "Connecting to key service" at info level, among info lines of every key
      // source that tsops does not print, and only for some commands: as `sops`, nothing.)
      if (ctx.verbose && ctx.persona === 'tsops') ctx.stderr(`tsops: using key service ${describeAddress(address)}`)
      services.push(new RemoteKeyService(address))
    }
  }
  ctx.keyContext.keyServices = services
}

/**
 * sops's BoolTFlag (urfave/cli v1): on unless `--enable-local-keyservice=false`; the env var, when
 * set, is read with strconv.ParseBool, and set but empty means off. A value ParseBool refuses
 * stops the run before anything is read, in urfave/cli's words (logged as fatal by sops).
 */
function localServiceEnabled(args: Args, env: CliContext['env']): boolean {
  if (args.has('enable-local-keyservice')) return args.bool('enable-local-keyservice')
  const value = env[ENABLE_LOCAL_ENV]
  if (value === undefined || GO_TRUE.has(value)) return true
  if (value === '' || GO_FALSE.has(value)) return false
  throw new GenericError(
    `could not parse ${value} as bool value for flag enable-local-keyservice: strconv.ParseBool: parsing ${goQuote(value)}: invalid syntax`,
    { code: 'BAD_ENVIRONMENT', sopsLog: 'fatal' },
  )
}
