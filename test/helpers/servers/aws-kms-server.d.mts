// What tsc needs to know about the plain-JS loopback KMS (aws-kms-server.mjs). The typed surface the
// tests use is ./aws-kms.ts, which re-exports these with their full types; the server functions are
// `any` here so that file stays the one place their shapes are written down.
export declare const TEST_ACCOUNT: string
export declare const TEST_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string }
export declare function testKeyArn(name?: string, region?: string): string
export declare function computeSignature(request: {
  method: string
  path: string
  query: string
  headers: Record<string, string>
  signedHeaders: string[]
  body: string
  secretAccessKey: string
  amzDate: string
  scope: string[]
}): string
export declare function handle(target: string, input: unknown): [number, Record<string, unknown>]
// biome-ignore lint/suspicious/noExplicitAny: typed in ./aws-kms.ts (see above)
export declare const verifySigV4: any
// biome-ignore lint/suspicious/noExplicitAny: typed in ./aws-kms.ts (see above)
export declare const createKms: any
// biome-ignore lint/suspicious/noExplicitAny: typed in ./aws-kms.ts (see above)
export declare const startKmsServer: any
// biome-ignore lint/suspicious/noExplicitAny: typed in ./aws-kms.ts (see above)
export declare const startKmsServerThread: any
// biome-ignore lint/suspicious/noExplicitAny: typed in ./aws-kms.ts (see above)
export declare const closedPortUrl: any
