import { describe, expect, test } from "bun:test";
import {
  parseDictionary,
  parseItemText,
  serializeDictionary,
  serializeItem,
  StructuredFieldError,
} from "../../../src/http-signatures/index.ts";

describe("structured fields (RFC 8941)", () => {
  test("dictionaries round-trip with inner lists, parameters and every item type", () => {
    const text = 'a=(1 "two" three);p=?0, b=:AQID:;q=-1.5, c, d="q\\"uote\\\\", e=?0, f=0.125';
    expect(serializeDictionary(parseDictionary(text))).toBe(text);
  });

  test("order of members and parameters is kept", () => {
    const text = 'sig1=("@target-uri" "@authority");keyid="k";alg="a";created=1;expires=2';
    expect(serializeDictionary(parseDictionary(text))).toBe(text);
  });

  test("whitespace around members is tolerated, and serialisation is canonical", () => {
    expect(serializeDictionary(parseDictionary("a=1 ,\tb=2"))).toBe("a=1, b=2");
    expect(serializeDictionary(parseDictionary('x=(  "a"   "b" )'))).toBe('x=("a" "b")');
  });

  test("a boolean true member or parameter is serialised bare", () => {
    expect(serializeItem(parseItemText('"signature";req;key="sig1"'))).toBe('"signature";req;key="sig1"');
  });

  for (const bad of ["a=", "A=1", "a=1,", "a=(1", 'a="unterminated', "a=:not base64!:", "a=1.2345", "a=?2", "a=1 b=2", 'a="\u00e9"']) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      expect(() => parseDictionary(bad)).toThrow(StructuredFieldError);
    });
  }

  test("an empty field is an empty dictionary", () => {
    expect(parseDictionary("").size).toBe(0);
  });
});
