/** The `--version` lines. Kept apart from the help text so the start-up bundle carries no usage text. */
import { SOPS_FORMAT_VERSION } from '../core/metadata.js'

declare const TSOPS_VERSION: string | undefined

export const VERSION = typeof TSOPS_VERSION === 'string' ? TSOPS_VERSION : '0.0.0-dev'

export const VERSION_TEXT = `tsops ${VERSION} (sops ${SOPS_FORMAT_VERSION} compatible)\n`

/** Under the `sops` name, tools that parse `sops --version` see sops's own first word and version. */
export const SOPS_VERSION_TEXT = `sops ${SOPS_FORMAT_VERSION} (tsops ${VERSION})\n`
