// `node -r ./bench/require-log.cjs …`: append every module the CommonJS loader loads to
// $TSOPS_IMPORT_LOG (the CLI bundle is CommonJS; its lazily loaded SDKs come through require).
const Module = require('node:module')
const fs = require('node:fs')
const load = Module._load
Module._load = function (request, ...rest) {
  if (process.env.TSOPS_IMPORT_LOG) fs.appendFileSync(process.env.TSOPS_IMPORT_LOG, request + '\n')
  return load.call(this, request, ...rest)
}
