import { describe, expect, test } from "bun:test";
import {
  asMargoId,
  clientSpiffeId,
  expectedWfmId,
  isClientOf,
  parseClientId,
  parseSpiffeId,
  parseWfmId,
  SpiffeIdError,
  wfmSpiffeId,
} from "../../../src/trust/index.ts";

function refused(text: string): string {
  try {
    parseSpiffeId(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SpiffeIdError);
    return (err as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe("SPIFFE IDs (SPIFFE ID standard)", () => {
  test("a valid ID keeps its exact text, trust domain and segments", () => {
    const id = parseSpiffeId("spiffe://factory.example/margo/wfm/W-1_a.b");
    expect(id).toEqual({ id: "spiffe://factory.example/margo/wfm/W-1_a.b", trustDomain: "factory.example", segments: ["margo", "wfm", "W-1_a.b"] });
    expect(parseSpiffeId("spiffe://td").segments).toEqual([]);
  });

  test.each([
    ["SPIFFE://td/x", /must start with "spiffe:\/\/"/],
    ["https://td/x", /must start with/],
    ["spiffe://", /trust domain is empty/],
    ["spiffe:///x", /trust domain is empty/],
    ["spiffe://TD/x", /lower-case letters/],
    ["spiffe://td:443/x", /port/],
    ["spiffe://user@td/x", /userinfo/],
    ["spiffe://td/x?y=1", /query/],
    ["spiffe://td/x#frag", /fragment/],
    ["spiffe://td/x%2Fy", /percent-encoding/],
    ["spiffe://td/", /ends with '\/'/],
    ["spiffe://td/a//b", /segment is empty/],
    ["spiffe://td/a/./b", /"\." is not allowed/],
    ["spiffe://td/a/../b", /"\.\." is not allowed/],
    ["spiffe://td/a b", /may hold only letters/],
    ["spiffe://td/caf\u00e9", /may hold only letters/],
  ])("%s is refused", (text, why) => {
    expect(refused(text)).toMatch(why);
  });

  test("length limits: 2048 bytes in all, 255 for the trust domain", () => {
    const td = "a".repeat(255);
    expect(parseSpiffeId(`spiffe://${td}/x`).trustDomain).toBe(td);
    expect(refused(`spiffe://${"a".repeat(256)}/x`)).toMatch(/longer than 255/);
    const long = `spiffe://td/${"p".repeat(2048 - "spiffe://td/".length)}`;
    expect(long.length).toBe(2048);
    expect(parseSpiffeId(long).id).toBe(long);
    expect(refused(`${long}x`)).toMatch(/longer than 2048/);
  });
});

describe("the Margo forms (WFM identity profile)", () => {
  test("a client ID names its WFM; the expected WFM ID is derived from it", () => {
    const client = parseClientId("spiffe://factory.example/margo/wfm/wfm-7/client/device-42");
    expect(client).toMatchObject({ kind: "client", trustDomain: "factory.example", wfmId: "wfm-7", clientId: "device-42" });
    expect(expectedWfmId(client).id).toBe("spiffe://factory.example/margo/wfm/wfm-7");
    expect(isClientOf(client, wfmSpiffeId("factory.example", "wfm-7"))).toBe(true);
    expect(isClientOf(client, wfmSpiffeId("factory.example", "wfm-8"))).toBe(false);
    expect(isClientOf(client, wfmSpiffeId("other.example", "wfm-7"))).toBe(false);
  });

  test("comparisons are exact and case-sensitive", () => {
    const client = clientSpiffeId("td", "WFM", "c");
    expect(isClientOf(client, wfmSpiffeId("td", "wfm"))).toBe(false);
  });

  test("a WFM ID is not a client ID and vice versa, with a message naming the expected form", () => {
    expect(() => parseClientId("spiffe://td/margo/wfm/w1")).toThrow(/a WFM's ID, not a client's: expected spiffe:\/\/<trust-domain>\/margo\/wfm\/<wfm-id>\/client\/<client-id>/);
    expect(() => parseWfmId("spiffe://td/margo/wfm/w1/client/c")).toThrow(/a client's ID, not a WFM's/);
    expect(() => parseClientId("spiffe://td/ns/default/sa/x")).toThrow(/not of the Margo client form/);
    expect(() => parseClientId("spiffe://td/margo/wfm/w1/client/c/extra")).toThrow(/not of the Margo client form/);
    expect(() => parseClientId("spiffe://td/margo/wfm/w1/device/c")).toThrow(/not of the Margo client form/);
    expect(() => parseClientId("spiffe://td/margo/wfm/../client/c")).toThrow(/"\.\." is not allowed/);
    expect(asMargoId(parseSpiffeId("spiffe://td/margo/wfm"))).toBeUndefined();
  });

  test("builders validate their parts", () => {
    expect(() => wfmSpiffeId("td", "a/b")).toThrow(SpiffeIdError);
    expect(() => clientSpiffeId("td", "w", "..")).toThrow(/not allowed/);
    expect(() => clientSpiffeId("Bad_TD", "w", "c")).toThrow(/lower-case/);
  });
});
