import { describe, expect, test } from "bun:test";
import {
  children,
  content,
  oid,
  octetString,
  readNode,
  readOid,
  sequence,
  time,
  unsignedInteger,
} from "../../../src/identity/der.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("DER", () => {
  test("object identifiers encode and decode (P-256, ecdsa-with-SHA256, large arcs)", () => {
    expect(hex(oid("1.2.840.10045.3.1.7"))).toBe("06082a8648ce3d030107");
    expect(hex(oid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    for (const dotted of ["1.3.101.112", "2.5.29.19", "1.3.6.1.4.1.311.60.2.1.3", "2.999.1"]) {
      expect(readOid(readNode(oid(dotted)))).toBe(dotted);
    }
  });

  test("integers are minimal and positive", () => {
    expect(hex(unsignedInteger(Uint8Array.of(0x80)))).toBe("02020080");
    expect(hex(unsignedInteger(Uint8Array.of(0, 0, 0x7f)))).toBe("02017f");
    expect(hex(unsignedInteger(Uint8Array.of(0)))).toBe("020100");
  });

  test("long lengths use the minimal long form", () => {
    const n200 = octetString(new Uint8Array(200));
    expect(hex(n200.subarray(0, 3))).toBe("0481c8");
    const n300 = octetString(new Uint8Array(300));
    expect(hex(n300.subarray(0, 4))).toBe("0482012c");
    expect(content(readNode(n300)).length).toBe(300);
  });

  test("UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)", () => {
    expect(Buffer.from(content(readNode(time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59)))))).toString()).toBe("491231235959Z");
    const far = readNode(time(new Date(Date.UTC(9999, 11, 31, 23, 59, 59))));
    expect(far.tag).toBe(0x18);
    expect(Buffer.from(content(far)).toString()).toBe("99991231235959Z");
  });

  test("children walk a sequence; truncated data is rejected", () => {
    const s = sequence(oid("2.5.4.3"), octetString(Uint8Array.of(1, 2)));
    expect(children(readNode(s)).map((c) => c.tag)).toEqual([0x06, 0x04]);
    expect(() => readNode(s.subarray(0, s.length - 1))).toThrow(/past the end/);
  });
});
