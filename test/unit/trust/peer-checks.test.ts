import { describe, expect, test } from "bun:test";
import { checkClientCertificate, checkWfmCertificate, DevCa, wfmSpiffeId } from "../../../src/trust/index.ts";

const ca = DevCa.create({ trustDomain: "td.example" });
const der = (m: { leaf: { raw: Buffer } }) => new Uint8Array(m.leaf.raw);
const expected = wfmSpiffeId("td.example", "wfm-1");

describe("the agent's check of the WFM certificate", () => {
  test("exactly the expected WFM ID passes; everything else names what the certificate says", () => {
    expect(checkWfmCertificate(expected, der(ca.issueWfmSvid("wfm-1")), "wfm.example")).toBeUndefined();
    const cases: [string[], RegExp][] = [
      [["spiffe://td.example/margo/wfm/wfm-2"], /its certificate names spiffe:\/\/td\.example\/margo\/wfm\/wfm-2$/],
      [["spiffe://other.example/margo/wfm/wfm-1"], /names spiffe:\/\/other\.example/],
      [["spiffe://td.example/margo/wfm/wfm-1/client/x"], /names .*\/client\/x$/],
      [["spiffe://td.example/margo/wfm/WFM-1"], /names .*WFM-1$/],
      [["https://wfm.example/"], /its URI SAN is not a SPIFFE ID/],
      [[], /has no URI SAN/],
    ];
    for (const [uris, why] of cases) {
      const err = checkWfmCertificate(expected, der(ca.issueWfmSvid("wfm-1", { uris })), "wfm.example");
      expect(err?.code).toBe("WFM_IDENTITY_MISMATCH");
      expect(err?.message).toMatch(/^the WFM at wfm\.example is not spiffe:\/\/td\.example\/margo\/wfm\/wfm-1: /);
      expect(err?.message).toMatch(why);
    }
  });

  test("a CA certificate, or no certificate at all, is refused", () => {
    expect(checkWfmCertificate(expected, der(ca.issueWfmSvid("wfm-1", { ca: true })), "h")?.message).toMatch(/is a CA certificate/);
    expect(checkWfmCertificate(expected, undefined, "h")?.message).toMatch(/gave no peer certificate/);
    expect(checkWfmCertificate(expected, Uint8Array.of(0x30, 0x03, 1, 2), "h")?.message).toMatch(/cannot be read/);
  });
});

describe("the WFM's check of a client certificate", () => {
  test("only the client form in this WFM's namespace is accepted", () => {
    expect(checkClientCertificate(expected, der(ca.issueClientSvid("wfm-1", "d1")))).toMatchObject({ ok: true, spiffeId: { clientId: "d1" } });
    expect(checkClientCertificate(expected, der(ca.issueClientSvid("wfm-2", "d1")))).toMatchObject({ ok: false, reason: expect.stringContaining("is not a client of") });
    expect(checkClientCertificate(expected, der(ca.issueWfmSvid("wfm-1")))).toMatchObject({ ok: false, reason: expect.stringContaining("a WFM's ID") });
    expect(checkClientCertificate(expected, der(ca.issueClientSvid("wfm-1", "d", { uris: [] })))).toMatchObject({ ok: false, spiffeId: null });
  });
});
