import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFileProblems } from "../../../src/config/files.ts";
import { configKeys, envNameFor, loadConfig } from "../../../src/config/load.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { DevCa, writeSvidFiles } from "../../../src/trust/index.ts";

const dir = mkdtempSync(join(tmpdir(), "cfg-rc3-"));
const ca = DevCa.create({ trustDomain: "factory.example" });
const client = await writeSvidFiles(join(dir, "client"), ca.issueClientSvid("wfm-1", "device-7"));
const wfmOnly = await writeSvidFiles(join(dir, "wfm"), ca.issueWfmSvid("wfm-1"));
const anchorFile = join(dir, "anchors.pem");
writeFileSync(anchorFile, ca.anchorPem);
const spiffeFile = join(dir, "bundle.json");
writeFileSync(spiffeFile, JSON.stringify(ca.spiffeBundle({ sequence: 3 })));
const emptyBundle = join(dir, "empty.json");
writeFileSync(emptyBundle, JSON.stringify({ keys: [{ use: "jwt-svid", kty: "EC" }] }));

const base = ["wfm.url=https://wfm.example.com", `dataDir=${join(dir, "data")}`];
const load = (sets: string[]) => loadConfig({ sets: [...base, ...sets] });
const rc3 = [`identity.certFile=${client.certFile}`, `identity.keyFile=${client.keyFile}`, `wfm.caFile=${anchorFile}`];
const codes = (sets: string[]) => configFileProblems(load(sets)).map((p) => [p.code, p.key]);

function problems(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return (e as AgentError).message;
  }
  throw new Error("expected a config error");
}

describe("wfm.profile and the rc3 keys (issue 12 item 1)", () => {
  test("rc3 is the default; v1 keeps what worked; anything else is refused", () => {
    expect(load([]).wfm.profile).toBe("rc3");
    expect(load(["wfm.profile=v1"]).wfm.profile).toBe("v1");
    expect(problems(() => load(["wfm.profile=rc2"]))).toContain('wfm.profile: "rc2" must be rc3 or v1');
    expect(loadConfig({ sets: base, env: { MARGO_AGENT_WFM_PROFILE: "v1" } }).wfm.profile).toBe("v1");
  });

  test("defaults and ranges of the new keys", () => {
    const c = load([]);
    expect([c.wfm.trustDiscovery, c.wfm.trustDiscoveryCaFile, c.wfm.trustBundleRefresh, c.identity.expiryWarning, c.device.labels]).toEqual([null, null, 3_600_000, 7 * 86_400_000, {}]);
    expect(problems(() => load(["wfm.trustBundleRefresh=30s"]))).toContain("wfm.trustBundleRefresh");
    expect(problems(() => load(["identity.expiryWarning=30s"]))).toContain("identity.expiryWarning");
    expect(problems(() => load(["wfm.trustDiscovery=http://mis.example"]))).toContain("must be an https URL");
    expect(problems(() => load(["wfm.trustDiscovery=https://u:p@mis.example"]))).toContain("credentials");
  });

  test("device.labels: the value types rc.3 allows, from the file or as YAML flow text; reserved keys refused", () => {
    const c = load(["device.labels={example.com/site: plant-7, line: 3, gpu: true, zones: [a, b], ports: [80, 443]}"]);
    expect(c.device.labels).toEqual({ "example.com/site": "plant-7", line: 3, gpu: true, zones: ["a", "b"], ports: [80, 443] });
    // Refused, naming the key (the message says it is no value a label may take).
    expect(problems(() => load(["device.labels={x: {nested: 1}}"]))).toContain("device.labels.x");
    expect(problems(() => load(["device.labels={x: [a, 1]}"]))).toContain("device.labels");
    const f = join(dir, "proto.yaml");
    writeFileSync(f, "wfm: {url: https://wfm.example.com}\ndevice:\n  labels:\n    __proto__: {polluted: true}\n");
    expect(problems(() => loadConfig({ file: f }))).toContain("__proto__");
    expect(configKeys()).toContain("device.labels");
    expect(envNameFor("wfm.trustBundleRefresh")).toBe("MARGO_AGENT_WFM_TRUST_BUNDLE_REFRESH");
  });

  test("keys of one profile are refused in the other, naming the key", () => {
    expect(problems(() => load(["wfm.profile=v1", "wfm.trustDiscovery=https://mis.example"]))).toContain("wfm.trustDiscovery");
    expect(problems(() => load(["wfm.trustOnFirstUse=true"]))).toContain("rc3 has no trust on first use");
    expect(problems(() => load([`wfm.caFile=${anchorFile}`, "wfm.trustDiscovery=https://mis.example"]))).toContain("give one trust source");
    expect(problems(() => load([`wfm.trustDiscoveryCaFile=${anchorFile}`]))).toContain("only used with wfm.trustDiscovery");
  });

  test("init/config.yaml documents every key", () => {
    const shipped = readFileSync(join(import.meta.dir, "../../../init/config.yaml"), "utf8");
    for (const key of configKeys()) {
      const leaf = key.split(".").pop()!;
      expect({ key, documented: new RegExp(`^\\s*${leaf}:`, "m").test(shipped) }).toEqual({ key, documented: true });
    }
  });
});

describe("what rc3 needs to start, checked by config check and run alike", () => {
  test("a complete rc3 configuration: no problems (PEM anchors, or a SPIFFE bundle, or discovery)", () => {
    expect(codes(rc3)).toEqual([]);
    expect(codes([`identity.certFile=${client.certFile}`, `identity.keyFile=${client.keyFile}`, `wfm.caFile=${spiffeFile}`])).toEqual([]);
    expect(codes([`identity.certFile=${client.certFile}`, `identity.keyFile=${client.keyFile}`, "wfm.trustDiscovery=https://mis.example"])).toEqual([]);
  });

  test("no SVID, no trust source, plain http, a clientId: each named with its code", () => {
    expect(codes([])).toEqual([
      ["IDENTITY_INVALID", "identity.certFile"],
      ["IDENTITY_INVALID", "identity.keyFile"],
      ["TRUST_BUNDLE_MISSING", "wfm.caFile"],
    ]);
    const http = configFileProblems(loadConfig({ sets: [...rc3, `dataDir=${join(dir, "data")}`, "wfm.url=http://127.0.0.1:9", "wfm.allowInsecureHttp=true"] }));
    expect(http.map((p) => [p.code, p.key])).toEqual([["CONFIG_INVALID", "wfm.url"]]);
    expect(codes([...rc3, "wfm.clientId=dev-1"])).toEqual([["CONFIG_INVALID", "wfm.clientId"]]);
  });

  test("an SVID that is not of the client form (a WFM's SVID) is refused before the start", () => {
    const found = configFileProblems(load([`identity.certFile=${wfmOnly.certFile}`, `identity.keyFile=${wfmOnly.keyFile}`, `wfm.caFile=${anchorFile}`]));
    expect(found.map((p) => [p.code, p.key])).toEqual([["IDENTITY_INVALID", "identity.certFile"]]);
    expect(found[0]!.message).toContain("a WFM's ID, not a client's");
  });

  test("wfm.caFile: missing (CA_FILE_INVALID), or a bundle without an X.509 anchor (TRUST_BUNDLE_INVALID)", () => {
    const withCa = (file: string) => configFileProblems(load([`identity.certFile=${client.certFile}`, `identity.keyFile=${client.keyFile}`, `wfm.caFile=${file}`]));
    expect(withCa(join(dir, "nope.pem")).map((p) => p.code)).toEqual(["CA_FILE_INVALID"]);
    const empty = withCa(emptyBundle);
    expect(empty.map((p) => [p.code, p.key])).toEqual([["TRUST_BUNDLE_INVALID", "wfm.caFile"]]);
    expect(empty[0]!.message).toContain("no X.509 trust anchor");
    // A leaf certificate is not an anchor.
    const leaf = join(dir, "leaf.pem");
    writeFileSync(leaf, readFileSync(client.certFile, "utf8"));
    expect(withCa(leaf).map((p) => p.code)).toEqual(["TRUST_BUNDLE_INVALID"]);
  });
});
