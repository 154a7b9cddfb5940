// `node --import ./bench/import-log.mjs …`: record which modules a command loads.
import { register } from 'node:module'

register('./import-log-hooks.mjs', import.meta.url)
