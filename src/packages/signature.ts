/**
 * Detached OpenPGP signatures on packages. openpgp is imported lazily: agents
 * whose deployments name no key never load it.
 */
import { AgentError } from "../errors/index.ts";

/**
 * Throws PACKAGE_SIGNATURE_INVALID unless `signature` (armored, detached) is a valid signature of
 * `data` by `armoredKey`. `data` may be a stream (a package read from disk): it is hashed as it
 * flows, never held whole.
 */
export async function verifyDetachedSignature(data: Uint8Array | ReadableStream<Uint8Array>, signature: string, armoredKey: string, what: string): Promise<void> {
  const openpgp = await import("openpgp");
  const fail = (why: string, cause?: unknown) =>
    new AgentError("PACKAGE_SIGNATURE_INVALID", `${what}: signature does not verify: ${why}`, {}, { cause });
  let key: Awaited<ReturnType<typeof openpgp.readKey>>;
  try {
    key = await openpgp.readKey({ armoredKey });
  } catch (err) {
    throw fail(`the public key is not a readable armored OpenPGP key (${(err as Error).message})`, err);
  }
  let sig: Awaited<ReturnType<typeof openpgp.readSignature>>;
  try {
    sig = await openpgp.readSignature({ armoredSignature: signature });
  } catch (err) {
    throw fail(`the signature is not a readable armored OpenPGP signature (${(err as Error).message})`, err);
  }
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({ message, signature: sig, verificationKeys: key, format: "binary" });
  // With a streamed message the signatures settle only once the data has been read through.
  if (!(data instanceof Uint8Array)) {
    const reader = (result.data as unknown as ReadableStream<Uint8Array>).getReader();
    while (!(await reader.read()).done);
  }
  if (!result.signatures.length) throw fail("the signature file holds no signature");
  for (const s of result.signatures) {
    try {
      await s.verified;
      return;
    } catch (err) {
      throw fail(`${(err as Error).message} (key ${key.getFingerprint()})`, err);
    }
  }
}
