// An Express app that reads its encrypted configuration at start-up with the tsops library.
//
//   npm install tsops express
//   SOPS_AGE_KEY_FILE=/run/secrets/age.txt node express-app.mjs
//
// config/secrets.enc.yaml is an ordinary sops file (tsops encrypt / sops encrypt), e.g.
//   port: 3000
//   db: { url: postgres://app@db/app, password: … }
//   session_secret: …
// Keys are found as the sops CLI finds them (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, GNUPGHOME, cloud
// credentials); pass `ageIdentities` or `env` to loadSecrets to hand them over explicitly.
import express from 'express'
import { loadSecrets, TsopsError } from 'tsops'

const SECRETS = process.env.SECRETS_FILE ?? new URL('./config/secrets.enc.yaml', import.meta.url).pathname

/** Decrypt before listening: a missing key or a tampered file stops the start, loudly. */
async function loadConfig() {
  try {
    return await loadSecrets(SECRETS)
  } catch (err) {
    if (!(err instanceof TsopsError)) throw err
    // Messages never contain secret values; `code` is stable, `exitCode` is sops's.
    console.error(`cannot read ${SECRETS} (${err.code}): ${err.message}`)
    if (err.hint) console.error(`hint: ${err.hint}`)
    process.exit(err.exitCode)
  }
}

const config = await loadConfig()
const app = express()

app.get('/healthz', (_req, res) => res.send('ok'))

// loadSecrets is cached per file: later calls cost one stat() and pick up a re-deployed file
// (a ConfigMap or a volume updated in place) without restarting the process.
app.get('/whoami', async (_req, res) => {
  const { db } = await loadSecrets(SECRETS)
  res.json({ database: new URL(db.url).host }) // never send secrets themselves
})

app.listen(config.port ?? 3000, () => console.log(`listening on ${config.port ?? 3000}`))
