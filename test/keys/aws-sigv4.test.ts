/**
 * SigV4 signing against AWS's published "Signature Version 4 test suite" (aws-sig-v4-test-suite:
 * credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1/service) and the signing-key example
 * of the IAM documentation; then against the loopback KMS's independent signature check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import { sha256Hex, signingKey, signRequest, type RequestToSign } from '../../src/keys/aws-sigv4.js'
import { startKmsServer, testKeyArn, TEST_CREDENTIALS, type KmsServer } from '../helpers/servers/aws-kms.js'

const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const SUITE_DATE = new Date('2015-08-30T12:36:00Z')
const SUITE_SCOPE = { region: 'us-east-1', service: 'service' }
const HOST = 'example.amazonaws.com'

const suiteSign = (request: Partial<RequestToSign> & { method: string }, credentials: typeof SUITE_CREDENTIALS & { sessionToken?: string } = SUITE_CREDENTIALS) =>
  signRequest({ path: '/', body: '', ...request, headers: { Host: HOST, ...request.headers } }, credentials, SUITE_SCOPE, SUITE_DATE)

describe('aws-sig-v4-test-suite', () => {
  it('get-vanilla: canonical request, string to sign, authorization header', () => {
    const signed = suiteSign({ method: 'GET' })
    expect(signed.canonicalRequest).toBe(
      'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(signed.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    )
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    )
    expect(signed.headers['x-amz-date']).toBe('20150830T123600Z')
  })

  it('post-x-www-form-urlencoded: the body and content-type are signed', () => {
    const signed = suiteSign({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'Param1=value1' })
    expect(signed.signedHeaders).toBe('content-type;host;x-amz-date')
    expect(signed.canonicalRequest.endsWith(`\n${sha256Hex('Param1=value1')}`)).toBe(true)
    expect(sha256Hex('Param1=value1')).toBe('9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e')
    expect(signed.signature).toBe('ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a')
  })

  const cases: { name: string; request: Partial<RequestToSign> & { method: string }; signature: string }[] = [
    { name: 'post-vanilla', request: { method: 'POST' }, signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
    { name: 'post-vanilla-query', request: { method: 'POST', query: [['Param1', 'value1']] }, signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11' },
    {
      name: 'get-vanilla-query-order-key-case',
      request: { method: 'GET', query: [['Param2', 'value2'], ['Param1', 'value1']] },
      signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    },
    { name: 'post-header-key-case', request: { method: 'post', headers: { 'MY-HEADER1': 'value1' } }, signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c' },
    { name: 'post-header-value-case', request: { method: 'POST', headers: { 'My-Header1': 'VALUE1' } }, signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d' },
    {
      name: 'get-header-value-trim',
      request: { method: 'GET', headers: { 'My-Header1': ' value1', 'My-Header2': ' "a   b   c"' } },
      signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
    },
    { name: 'get-utf8', request: { method: 'GET', path: '/\u1234' }, signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' },
    { name: 'get-space', request: { method: 'GET', path: '/example space/' }, signature: '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741' },
  ]
  for (const c of cases) {
    it(c.name, () => expect(suiteSign(c.request).signature).toBe(c.signature))
  }

  it('post-sts-header-before: the session token is sent and signed', () => {
    const sessionToken =
      'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=='
    const signed = suiteSign({ method: 'POST' }, { ...SUITE_CREDENTIALS, sessionToken })
    expect(signed.signedHeaders).toBe('host;x-amz-date;x-amz-security-token')
    expect(signed.headers['x-amz-security-token']).toBe(sessionToken)
    expect(signed.signature).toBe('85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead')
  })

  it('derives the signing key of the IAM documentation example', () => {
    expect(signingKey(SUITE_CREDENTIALS.secretAccessKey, '20120215', { region: 'us-east-1', service: 'iam' }).toString('hex')).toBe(
      'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d',
    )
  })
})

describe("the loopback KMS's signature check accepts our requests", () => {
  let kms: KmsServer
  beforeAll(async () => {
    kms = await startKmsServer()
  })
  afterAll(() => kms.close())

  const post = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, tamper = false) => {
    const body = JSON.stringify({ KeyId: testKeyArn(), Plaintext: Buffer.from('data key').toString('base64') })
    const signed = signRequest(
      { method: 'POST', path: '/', headers: { host: `127.0.0.1:${kms.port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' }, body },
      credentials,
      { region: 'eu-central-1', service: 'kms' },
    )
    return new Promise<{ status: number; type?: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: kms.port, method: 'POST', path: '/', headers: signed.headers }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: (JSON.parse(text) as { __type?: string }).__type }))
      })
      req.on('error', reject)
      req.end(tamper ? body.replace('"KeyId"', '"keyId"') : body)
    })
  }

  it('with static keys and with a session token; a tampered body is refused', async () => {
    expect(await post(TEST_CREDENTIALS)).toEqual({ status: 200, type: undefined })
    kms.addIdentity('ASIASIGV4TEST0000001', 'temporary-secret', undefined, 'token/with+chars=')
    expect(await post({ accessKeyId: 'ASIASIGV4TEST0000001', secretAccessKey: 'temporary-secret', sessionToken: 'token/with+chars=' })).toEqual({ status: 200, type: undefined })
    expect(await post(TEST_CREDENTIALS, true)).toEqual({ status: 400, type: 'InvalidSignatureException' })
    expect(kms.log.map((l) => [l.operation, l.status, l.region, l.signingService])).toEqual([
      ['Encrypt', 200, 'eu-central-1', 'kms'],
      ['Encrypt', 200, 'eu-central-1', 'kms'],
      ['Encrypt', 400, undefined, undefined],
    ])
  })
})
