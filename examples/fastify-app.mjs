// The same start-up with Fastify: decrypt once, decorate the instance, listen.
//
//   npm install tsops fastify
//   SOPS_AGE_KEY="$(cat key.txt)" node fastify-app.mjs
import Fastify from 'fastify'
import { loadSecrets } from 'tsops'

const SECRETS = process.env.SECRETS_FILE ?? new URL('./config/secrets.enc.yaml', import.meta.url).pathname

// A TsopsError rejects the top-level await: the process exits non-zero before listening.
const config = await loadSecrets(SECRETS)

const app = Fastify({ logger: true })
app.decorate('config', config)
app.get('/healthz', async () => 'ok')
await app.listen({ port: config.port ?? 3000, host: '0.0.0.0' })
