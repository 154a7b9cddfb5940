// Module hooks that append every resolved ESM URL to $TSOPS_IMPORT_LOG (hooks run on their own
// thread, so they write to a file rather than to the process's stderr).
import fs from 'node:fs'

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (process.env.TSOPS_IMPORT_LOG) fs.appendFileSync(process.env.TSOPS_IMPORT_LOG, result.url + '\n')
  return result
}
