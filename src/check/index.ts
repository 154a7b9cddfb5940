/** The keyless checker, as a library: used by `tsops check`, `tsops filestatus` and the git guard. */
export { checkBytes, checkDocument, encryptedStructureProblem, type CheckOptions, type VerifyOptions } from './checker.js'
export { inspectFile, type InspectOptions } from './inspect.js'
export { RuleIndex, mayCarrySopsMetadata, SNIFF_LIMIT } from './selection.js'
export { checkPaths, collectTargets, type CheckPathsOptions } from './files.js'
export { fileStatus } from './status.js'
export { renderJson, renderText, problemLine, fixFor, shellQuote, summarize } from './report.js'
export { hasTsopsConflict } from './markers.js'
export { CHECK_FAILED_EXIT_CODE, CheckFailedError, type FileReport, type Problem, type ProblemKind } from './types.js'
