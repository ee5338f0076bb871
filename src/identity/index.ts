export {
  certificateBase64,
  certificateDer,
  certificatePem,
  certificateThumbprint,
  createSelfSignedCertificate,
  parseCertificate,
  publicKeyFromCertificate,
  type ParsedCertificate,
  type SelfSignedOptions,
} from "./certificate.ts";
export { DerError } from "./der.ts";
export {
  algorithmForKeyType,
  importPrivateKeyPem,
  importSpki,
  type ImportedPrivateKey,
  type KeyOptions,
  type RsaSignatureAlgorithm,
} from "./keys.ts";
export {
  DEFAULT_CERT_FILE,
  DEFAULT_KEY_FILE,
  loadOrCreateIdentity,
  type DeviceIdentity,
  type IdentityOptions,
} from "./load-or-create.ts";
export { decodePem, encodePem, type PemBlock } from "./pem.ts";
