/**
 * What the client and the server share of gRPC: the lazily loaded @grpc/grpc-js (a plain decrypt
 * never loads it), the service's method paths (the .proto declares no package, so the service is
 * plain `KeyService`), and grpc-go's wording of a status, which sops prints for a failed call.
 */
export type Grpc = typeof import('@grpc/grpc-js')

let grpc: Promise<Grpc> | undefined

export function loadGrpc(): Promise<Grpc> {
  grpc ??= import('@grpc/grpc-js').then((g) => {
    // grpc-js writes its own errors to the console; every failure here is reported by tsops.
    g.setLogVerbosity(g.logVerbosity.NONE)
    return g
  })
  return grpc
}

export const ENCRYPT_PATH = '/KeyService/Encrypt'
export const DECRYPT_PATH = '/KeyService/Decrypt'

/** grpc-go's names of the status codes (codes.Code.String()), by number. */
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
]

/** A status as grpc-go's error prints it: `rpc error: code = NotFound desc = Must provide a key`. */
export function goStatusText(code: number, details: string): string {
  return `rpc error: code = ${CODE_NAMES[code] ?? `Code(${code})`} desc = ${details}`
}

/** Status codes used here (the numbers are gRPC's, fixed by the protocol). */
export const STATUS = { UNKNOWN: 2, NOT_FOUND: 5, PERMISSION_DENIED: 7, INTERNAL: 13, UNAVAILABLE: 14 } as const
