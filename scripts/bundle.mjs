// Bundles the CLI with esbuild: one small entry chunk, with commands, formats and key sources
// split into chunks that load only when used (cold start is a feature; spec: bundle the CLI).
import { build } from 'esbuild'
import { readFileSync, rmSync, chmodSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
// `node scripts/bundle.mjs [outdir]`: tests build a private copy so parallel runs never see a half-built CLI.
const outdir = process.argv[2] ?? 'dist/cli'
rmSync(outdir, { recursive: true, force: true })

await build({
  entryPoints: { tsops: 'src/cli/bin.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  define: { TSOPS_VERSION: JSON.stringify(pkg.version) },
  // Cloud SDKs are large and optional: loaded from node_modules only when a file uses them.
  external: ['@aws-sdk/*', '@smithy/*', '@google-cloud/*', '@grpc/*', '@azure/*', 'simple-git'],
  // Some dependencies are CommonJS and require() node builtins; give ESM chunks a require.
  banner: { js: "import { createRequire as __tsopsCreateRequire } from 'node:module'; const require = __tsopsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
})
chmodSync(`${outdir}/tsops.mjs`, 0o755)
