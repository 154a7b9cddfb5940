// SOPS_ORACLE_KMS_MODULE for ../shared/tools/sops-oracle: real sops's KMS requests
// (TrentService.Decrypt, AWS JSON 1.1) are answered by the same KMS logic as the loopback test
// server, whose key material is deterministic, so blobs that server made decrypt here too.
export { handle } from './aws-kms-server.mjs'
