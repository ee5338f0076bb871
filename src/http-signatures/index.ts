export {
  SIGNATURE_ALGORITHMS,
  describeKey,
  importParamsFor,
  isSignatureAlgorithm,
  keyMatchesAlgorithm,
  signBase,
  verifyBase,
  type SignatureAlgorithm,
} from "./algorithms.ts";
export { base64ToBytes, bytesToBase64, bytesToHex } from "./base64.ts";
export { contentDigest, verifyContentDigest, type ContentDigestVerdict } from "./content-digest.ts";
export {
  componentLines,
  createSignatureBase,
  parseComponentId,
  SignatureBaseError,
  type SignatureContext,
} from "./signature-base.ts";
export {
  signRequest,
  type SignableRequest,
  type SignatureHeaders,
  type Signer,
  type SignOptions,
} from "./sign.ts";
export {
  parseDictionary,
  parseItemText,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  serializeMember,
  StructuredFieldError,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  type Member,
  type Parameters,
} from "./structured-fields.ts";
export {
  verifyRequest,
  type KeyResolver,
  type VerifiableRequest,
  type VerifyOptions,
  type VerifyResult,
} from "./verify.ts";
