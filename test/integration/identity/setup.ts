/** A device side wired the way the agent wires it: identity, signer, WfmClient, state store in a temp dataDir. */
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { systemClock } from "../../../src/agent/clock.ts";
import { loadOrCreateIdentity, type DeviceIdentity } from "../../../src/identity/index.ts";
import { createRequestSigner } from "../../../src/identity/request-signer.ts";
import { WfmClient } from "../../../src/protocol/wfm-client.ts";
import { StateStore } from "../../../src/store/state-store.ts";
import { tempDir } from "../../unit/identity-integration/helpers.ts";

export interface Device {
  dir: string;
  identity: DeviceIdentity;
  client: WfmClient;
  store: StateStore;
  setClientId(id: string | undefined): void;
}

export async function device(wfmUrl: string): Promise<Device> {
  const dir = tempDir("margo-device-");
  const identity = await loadOrCreateIdentity({ dir, deviceId: "dev-1" });
  let clientId: string | undefined;
  const client = new WfmClient({
    baseUrl: wfmUrl,
    clientId: () => clientId,
    fetch: (url, init) => bunPlatform.fetch(url, init),
    signer: createRequestSigner(identity, () => clientId ?? identity.thumbprint),
    requestTimeoutMs: 5000,
    userAgent: "margo-agent/test",
  });
  const store = StateStore.open(bunPlatform.openDatabase(join(dir, "state.db")), systemClock());
  return { dir, identity, client, store, setClientId: (id) => (clientId = id) };
}

export function openStore(dir: string): StateStore {
  return StateStore.open(bunPlatform.openDatabase(join(dir, "state.db")), systemClock());
}
