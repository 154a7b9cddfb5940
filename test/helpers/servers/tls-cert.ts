/**
 * A throw-away CA and a server certificate for 127.0.0.1 / ::1 / localhost, made with the
 * `openssl` binary at test start. Clients trust the CA the way users trust a private CA:
 * NODE_EXTRA_CA_CERTS for a child process, or the SDK's tlsOptions in-process.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface LoopbackCert {
  dir: string
  /** PEM of the CA (what NODE_EXTRA_CA_CERTS points at). */
  ca: string
  caPath: string
  /** PEM of the server certificate and its key. */
  cert: string
  key: string
  cleanup(): void
}

export function generateLoopbackCert(): LoopbackCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-tls-'))
  const p = (name: string) => path.join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tsops test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  fs.writeFileSync(p('server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n')
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext')
  return {
    dir,
    ca: fs.readFileSync(p('ca.pem'), 'utf8'),
    caPath: p('ca.pem'),
    cert: fs.readFileSync(p('server.pem'), 'utf8'),
    key: fs.readFileSync(p('server.key'), 'utf8'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  }
}
