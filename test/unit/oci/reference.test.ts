import { describe, expect, test } from "bun:test";
import { AgentError } from "../../../src/errors/index.ts";
import { formatReference, parseComponentReference, parseOciUrl } from "../../../src/oci/reference.ts";

const D = `sha256:${"ab".repeat(32)}`;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as AgentError).code;
  }
  return "no error";
}

describe("OCI references", () => {
  test("repository + revision (a tag), with host:port and nested path", () => {
    expect(parseComponentReference("oci://registry.example.com:5000/org/team/app", "1.2.3")).toEqual({ registry: "registry.example.com:5000", repository: "org/team/app", tag: "1.2.3" });
  });

  test("digests: in the repository, as the revision, and tag@digest", () => {
    expect(parseComponentReference(`oci://r.example/app@${D}`)).toEqual({ registry: "r.example", repository: "app", digest: D });
    expect(parseComponentReference("oci://r.example/app", D)).toEqual({ registry: "r.example", repository: "app", digest: D });
    expect(parseComponentReference("oci://r.example/app", `1.0.0@${D}`)).toEqual({ registry: "r.example", repository: "app", tag: "1.0.0", digest: D });
  });

  test("the CLI form oci://host/path:tag and its round trip", () => {
    const ref = parseOciUrl("oci://127.0.0.1:5000/org/app:1.0.0-rc.1");
    expect(ref).toEqual({ registry: "127.0.0.1:5000", repository: "org/app", tag: "1.0.0-rc.1" });
    expect(formatReference(ref)).toBe("oci://127.0.0.1:5000/org/app:1.0.0-rc.1");
    expect(parseOciUrl("oci://[::1]:5000/app:1").registry).toBe("[::1]:5000");
  });

  test.each([
    ["https://r.example/app", "1.0.0", "not oci://"],
    ["oci://user:pw@r.example/app", "1.0.0", "credentials in the host"],
    ["oci://r.example/App", "1.0.0", "upper case path"],
    ["oci://r.example/app/../etc", "1.0.0", "dot-dot component"],
    ["oci://r.example/app?x=1", "1.0.0", "query"],
    ["oci://r.example/app#frag", "1.0.0", "fragment"],
    ["oci://r.example", "1.0.0", "no path"],
    ["oci://r.example/app", ".hidden", "tag starting with '.'"],
    ["oci://r.example/app", "a/b", "slash in the tag"],
    ["oci://r.example/app", "", "no revision at all"],
    ["oci://r.example/app:1.0.0", "2.0.0", "two different tags"],
    ["oci://r.example:99999/app", "1", "port out of range"],
  ])("%s revision %s is refused (%s)", (repo, rev) => {
    expect(code(() => parseComponentReference(repo, rev))).toBe("DEPLOYMENT_INVALID");
  });

  test("a digest that is not sha256:<64 hex> is DIGEST_UNSUPPORTED", () => {
    expect(code(() => parseComponentReference("oci://r.example/app", "sha512:abcd"))).toBe("DEPLOYMENT_INVALID");
    expect(code(() => parseComponentReference("oci://r.example/app", `1.0@sha256:${"A".repeat(64)}`))).toBe("DIGEST_UNSUPPORTED");
    expect(code(() => parseOciUrl("oci://r.example/app@sha512:00"))).toBe("DIGEST_UNSUPPORTED");
  });
});
