/** Derived component values, checked against the examples of RFC 9421 §2.1-§2.2. */
import { describe, expect, test } from "bun:test";
import {
  componentLines,
  createSignatureBase,
  parseComponentId,
  parseDictionary,
  SignatureBaseError,
  type InnerList,
  type SignatureContext,
} from "../../../src/http-signatures/index.ts";

function line(ctx: SignatureContext, id: string): string[] {
  return componentLines(ctx, parseComponentId(id));
}

const https = { method: "POST", url: "https://www.example.com/path?param=value", headers: new Headers({ Host: "www.example.com" }) };

describe("derived components (§2.2)", () => {
  test("@method, @target-uri, @authority, @scheme, @request-target, @path", () => {
    expect(line(https, "@method")).toEqual(['"@method": POST']);
    expect(line(https, "@target-uri")).toEqual(['"@target-uri": https://www.example.com/path?param=value']);
    expect(line(https, "@authority")).toEqual(['"@authority": www.example.com']);
    expect(line({ ...https, url: "http://www.example.com/path?param=value" }, "@scheme")).toEqual(['"@scheme": http']);
    expect(line(https, "@request-target")).toEqual(['"@request-target": /path?param=value']);
    expect(line(https, "@path")).toEqual(['"@path": /path']);
  });

  test("authority is lower-cased and drops the default port; fragments and userinfo are not part of the target URI", () => {
    const ctx = { ...https, url: "HTTPS://user:pw@WWW.Example.COM:443/a%2Fb?x=1#frag" };
    expect(line(ctx, "@authority")).toEqual(['"@authority": www.example.com']);
    expect(line(ctx, "@target-uri")).toEqual(['"@target-uri": https://www.example.com/a%2Fb?x=1']);
    expect(line({ ...https, url: "https://h.example:8443/" }, "@authority")).toEqual(['"@authority": h.example:8443']);
  });

  test("@query keeps percent-encoding, and is '?' alone without a query", () => {
    const ctx = { ...https, url: "https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman" };
    expect(line(ctx, "@query")).toEqual(['"@query": ?param=value&foo=bar&baz=bat%2Dman']);
    expect(line({ ...https, url: "https://www.example.com/path?queryString" }, "@query")).toEqual(['"@query": ?queryString']);
    expect(line({ ...https, url: "https://www.example.com/path" }, "@query")).toEqual(['"@query": ?']);
  });

  test("@query-param decodes and re-encodes (§2.2.8 example), keeps empty values, lists repeats", () => {
    const ctx = {
      ...https,
      url: "https://www.example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something",
    };
    expect(line(ctx, '"@query-param";name="var"')).toEqual(['"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value']);
    expect(line(ctx, '"@query-param";name="bar"')).toEqual(['"@query-param";name="bar": with%20plus%20whitespace']);
    expect(line(ctx, '@query-param;name="fa%C3%A7ade%22%3A%20"')).toEqual(['"@query-param";name="fa%C3%A7ade%22%3A%20": something']);
    const ctx2 = { ...https, url: "https://www.example.com/path?param=value&foo=bar&baz=batman&qux=&a=1&a=2" };
    expect(line(ctx2, '@query-param;name="qux"')).toEqual(['"@query-param";name="qux": ']);
    expect(line(ctx2, '@query-param;name="a"')).toEqual(['"@query-param";name="a": 1', '"@query-param";name="a": 2']);
    expect(() => line(ctx2, '@query-param;name="nope"')).toThrow(SignatureBaseError);
  });

  test("@status is for responses only", () => {
    expect(line({ status: 200, headers: new Headers() }, "@status")).toEqual(['"@status": 200']);
    expect(() => line(https, "@status")).toThrow(SignatureBaseError);
  });
});

describe("fields (§2.1)", () => {
  test("names are lower-cased, values trimmed, repeated lines joined with ', '", () => {
    const headers = new Headers();
    headers.append("X-Example", "  a  ");
    headers.append("x-example", "b ");
    expect(line({ headers }, "X-Example")).toEqual(['"x-example": a, b']);
  });

  test("a dictionary member via key=", () => {
    const headers = new Headers({ "Example-Dict": " a=1,    b=2;x=1;y=2,   c=(a   b   c)" });
    expect(line({ headers }, '"example-dict";key="a"')).toEqual(['"example-dict";key="a": 1']);
    expect(line({ headers }, '"example-dict";key="b"')).toEqual(['"example-dict";key="b": 2;x=1;y=2']);
    expect(line({ headers }, '"example-dict";key="c"')).toEqual(['"example-dict";key="c": (a b c)']);
    expect(() => line({ headers }, '"example-dict";key="d"')).toThrow(SignatureBaseError);
  });

  test("absent fields, unknown derived components and unsupported parameters are errors", () => {
    expect(() => line({ headers: new Headers() }, "date")).toThrow(/not in the message/);
    expect(() => line(https, "@nope")).toThrow(SignatureBaseError);
    for (const p of ["sf", "bs", "tr", "req"]) {
      expect(() => line({ headers: new Headers({ a: "1" }) }, `"a";${p}`)).toThrow(/unsupported parameter/);
    }
  });
});

describe("createSignatureBase", () => {
  function covered(text: string): InnerList {
    const m = parseDictionary(`s=${text}`).get("s");
    if (m?.kind !== "inner-list") throw new Error("not an inner list");
    return m;
  }

  test("duplicate components and a listed @signature-params are rejected", () => {
    expect(() => createSignatureBase(https, covered('("@method" "@method")'))).toThrow(/twice/);
    expect(() => createSignatureBase(https, covered('("@signature-params")'))).toThrow(SignatureBaseError);
  });

  test("the params line re-serialises parameters in the order received (§2.3 example)", () => {
    const headers = new Headers({ Date: "Tue, 20 Apr 2021 02:07:56 GMT", "Cache-Control": "max-age=60" });
    const base = createSignatureBase(
      { method: "GET", url: "https://www.example.com/path", headers },
      covered('("@target-uri" "@authority" "date" "cache-control");keyid="test-key-rsa-pss";alg="rsa-pss-sha512";created=1618884475;expires=1618884775'),
    );
    expect(base.split("\n").at(-1)).toBe(
      '"@signature-params": ("@target-uri" "@authority" "date" "cache-control");keyid="test-key-rsa-pss";alg="rsa-pss-sha512";created=1618884475;expires=1618884775',
    );
  });
});
