// Bundles the CLI with esbuild into one CommonJS file (dist/cli/main.cjs) plus the small
// launcher that runs it through a V8 code cache (dist/cli/tsops.cjs). CommonJS because Node's
// ESM loader costs more at start-up than the whole bundle does with a warm code cache; cloud
// SDKs stay outside the bundle and are required only when a file uses them.
import { build } from 'esbuild'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
// `node scripts/bundle.mjs [outdir]`: tests build a private copy so parallel runs never see a half-built CLI.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist/cli'))
rmSync(outdir, { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })

await build({
  entryPoints: [path.join(root, 'src/cli/bin.ts')],
  outfile: path.join(outdir, 'main.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  define: { TSOPS_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__tsopsModuleUrl' },
  // import.meta.url of the bundle, for the few modules that locate files next to the package.
  banner: { js: 'var __tsopsModuleUrl=require("node:url").pathToFileURL(__filename).href;' },
  external: ['@aws-sdk/*', '@smithy/*', '@google-cloud/*', '@grpc/*', '@azure/*', 'simple-git'],
  // import() of the external SDKs becomes require(): a vm.Script (the code cache launcher) has no
  // module loader on node 20, and every SDK we load lazily ships CommonJS.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
})
copyFileSync(path.join(root, 'scripts/launcher.cjs'), path.join(outdir, 'tsops.cjs'))
chmodSync(path.join(outdir, 'tsops.cjs'), 0o755)
