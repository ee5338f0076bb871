/** A journaled state change for a deployment, made through the lifecycle as the reconciler makes them. */
import { type Change, transition } from "../../../src/lifecycle/lifecycle.ts";

export function lifecycleChange(id: string, n: number): Change {
  const yaml = `id: ${id}\nn: ${n}\n`;
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(yaml).digest("hex")}`;
  return transition(undefined, { id, name: id, digest, yaml, manifestVersion: 1n }, { kind: "progress", components: [{ name: "web", state: n % 2 ? "installing" : "pending" }], attempts: 0 })!;
}
