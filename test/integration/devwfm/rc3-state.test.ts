/**
 * The state dir (issue 16, item 6): what a dev WFM must not forget when it
 * restarts on another --dir: onboarded clients (v1), its CA, trust domain and
 * issued clients (rc3), and the manifestVersion counter an agent has seen.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { adoptLegacyState, defaultStateDir, resolveStatePaths, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { certificateBase64, createSelfSignedCertificate } from "../../../src/identity/index.ts";
import { deploymentYaml, manifestJson, startIn, writeFile } from "./helpers.ts";
import { anonymousFetch, clientWith, MANIFEST_TYPE, rc3Client, rc3Deployment, rc3Env, startRc3, type Rc3Env } from "./rc3-helpers.ts";

let env: Rc3Env;
let wfm: StartedDevWfm | undefined;

beforeEach(() => {
  env = rc3Env();
});
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
  env.cleanup();
});

const otherDir = () => path.join(env.root, "other-apps");

describe("rc3: restarting on another --dir keeps the identity", () => {
  test("same CA and WFM SPIFFE ID, the minted client still gets in, the issued list survives, manifestVersion goes on from where it was", async () => {
    writeFile(env.dir, "a.yaml", rc3Deployment("d1"));
    wfm = await startRc3(env);
    const client = await rc3Client(wfm, env, "device-1");
    const first = (await (await client.fetch("/api/v1/deployments", { headers: { Accept: MANIFEST_TYPE } })).json()) as { manifestVersion: number };
    const anchor = wfm.rc3!.anchorPem;
    await wfm.stop();

    mkdirSync(otherDir(), { recursive: true });
    writeFile(otherDir(), "b.yaml", rc3Deployment("d2"));
    wfm = await startRc3({ ...env, dir: otherDir() });
    expect(wfm.rc3!.anchorPem).toBe(anchor);
    // The same SVID files, against the restarted WFM (another port).
    const res = await clientWith(wfm, client.svid, client.tls).fetch("/api/v1/deployments", { headers: { Accept: MANIFEST_TYPE } });
    expect(res.status).toBe(200);
    const second = (await res.json()) as { manifestVersion: number; deployments: Array<{ deploymentId: string }> };
    expect(second.manifestVersion).toBeGreaterThan(first.manifestVersion);
    expect(second.deployments.map((d) => d.deploymentId)).toEqual(["d2"]);
    const clients = (await (await anonymousFetch(wfm, "/api/dev/clients")).json()) as Array<{ spiffeId: string; issued: unknown }>;
    expect(clients.map((c) => [c.spiffeId, c.issued !== null])).toEqual([[client.spiffeId, true]]);
    // The CA's keys are the owner's only.
    for (const key of ["ca-key.pem", "intermediate-key.pem"]) expect(statSync(path.join(env.stateDir, "ca", key)).mode & 0o777).toBe(0o600);
  });

  test("a state dir of another trust domain or wfm-id is refused, naming both", async () => {
    wfm = await startRc3(env);
    await wfm.stop();
    wfm = undefined;
    await expect(startRc3(env, { rc3: { trustDomain: "factory.example" } })).rejects.toThrow(/belongs to trustDomain margo-dev.local, not factory.example/);
    await expect(startRc3(env, { rc3: { wfmId: "wfm-2" } })).rejects.toThrow(/belongs to wfmId dev-wfm, not wfm-2/);
  });

  test("a CA replaced by hand (ca/ deleted) is published with a higher spiffe_sequence", async () => {
    wfm = await startRc3(env);
    const before = (await (await anonymousFetch(wfm, "/.well-known/spiffe/bundle.json")).json()) as { spiffe_sequence: number };
    await wfm.stop();
    rmSync(path.join(env.stateDir, "ca"), { recursive: true });
    wfm = await startRc3(env);
    const after = (await (await anonymousFetch(wfm, "/.well-known/spiffe/bundle.json")).json()) as { spiffe_sequence: number };
    expect([before.spiffe_sequence, after.spiffe_sequence]).toEqual([1, 2]);
  });
});

describe("v1: restarting on another --dir keeps the onboarded clients", () => {
  test("a client onboarded with folder A is still known when the dev WFM serves folder B", async () => {
    writeFile(env.dir, "a.yaml", deploymentYaml("d1"));
    wfm = await startIn(env.dir, { stateDir: env.stateDir });
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
    const der = await createSelfSignedCertificate({ privateKey: pair.privateKey, spki, commonName: "device" });
    const body = { apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate: certificateBase64(der) };
    const onboarded = await fetch(`${wfm.url}/api/v1/onboarding`, { method: "POST", body: JSON.stringify(body) });
    expect(onboarded.status).toBe(201);
    const { clientId } = (await onboarded.json()) as { clientId: string };
    const before = (await manifestJson(wfm)).manifestVersion;
    await wfm.stop();

    mkdirSync(otherDir(), { recursive: true });
    writeFile(otherDir(), "b.yaml", deploymentYaml("d2"));
    wfm = await startIn(otherDir(), { stateDir: env.stateDir });
    const clients = (await (await fetch(`${wfm.url}/api/dev/clients`)).json()) as Array<{ clientId: string }>;
    expect(clients.map((c) => c.clientId)).toEqual([clientId]);
    // Once onboarded with a certificate, its unsigned requests are refused: the WFM still knows it.
    expect((await fetch(`${wfm.url}/api/v1/clients/${clientId}/deployments`, { headers: { Accept: MANIFEST_TYPE } })).status).toBe(401);
    expect((await manifestJson(wfm)).manifestVersion).toBe(before + 1);
  });
});

describe("where the state dir is", () => {
  test("the CLI's default: $XDG_STATE_HOME/margo-dev-wfm, else ~/.local/state/margo-dev-wfm (a relative XDG value is ignored)", () => {
    expect(defaultStateDir({ XDG_STATE_HOME: "/var/xdg", HOME: "/home/u" })).toBe("/var/xdg/margo-dev-wfm");
    expect(defaultStateDir({ HOME: "/home/u" })).toBe("/home/u/.local/state/margo-dev-wfm");
    expect(defaultStateDir({ XDG_STATE_HOME: "rel", HOME: "/home/u" })).toBe("/home/u/.local/state/margo-dev-wfm");
  });

  test("embedded callers: stateDir, else the folder of stateFile, else DIR/.dev-wfm", () => {
    expect(resolveStatePaths({ dir: "/a", stateDir: "/s" })).toEqual({ stateDir: "/s", stateFile: "/s/state.json" });
    expect(resolveStatePaths({ dir: "/a", stateFile: "/x/y.json" })).toEqual({ stateDir: "/x", stateFile: "/x/y.json" });
    expect(resolveStatePaths({ dir: "/a" })).toEqual({ stateDir: "/a/.dev-wfm", stateFile: "/a/.dev-wfm/state.json" });
  });

  test("a folder's old DIR/.dev-wfm/state.json is taken over by an empty state dir, so the counter does not restart at 1", () => {
    mkdirSync(path.join(env.dir, ".dev-wfm"), { recursive: true });
    writeFileSync(path.join(env.dir, ".dev-wfm", "state.json"), JSON.stringify({ manifestVersion: 41, contentDigest: null, clients: [] }));
    const paths = resolveStatePaths({ dir: env.dir, stateDir: env.stateDir });
    expect(adoptLegacyState(env.dir, paths)).toBe(path.join(env.dir, ".dev-wfm", "state.json"));
    expect(JSON.parse(require("node:fs").readFileSync(paths.stateFile, "utf8")).manifestVersion).toBe(41);
    // Never over a state dir that has its own.
    expect(adoptLegacyState(env.dir, paths)).toBeUndefined();
  });
});
