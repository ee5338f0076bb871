import { describe, expect, test } from "bun:test";
import { parseDeployment } from "../../src/deployment/parse.ts";
import { AgentError } from "../../src/errors/index.ts";

const base = `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations:
    id: a3e2f5dc-912e-494f-8395-52cf3769bc06
    applicationId: hello
  name: hello-world
  namespace: default
spec:
  deploymentProfile:
    type: compose
    components:
      - name: web
        properties:
          packageLocation: https://example.com/web.tar.gz
          keyLocation: https://example.com/key.asc
          timeout: 5m0s
          wait: true
      - name: db
        properties:
          packageLocation: https://example.com/db.yaml
          wait: "true"
  parameters:
    siteId:
      value: SID-123
      targets: [{pointer: SITE_ID, components: [web, db]}]
    port:
      value: 8080
      targets: [{pointer: PORT, components: [web]}]
`;

function errorOf(yaml: string): AgentError {
  try {
    parseDeployment(yaml, "test.yaml");
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error("expected a failure");
}

describe("parseDeployment", () => {
  test("the PROTOCOL.md §5 form", () => {
    const d = parseDeployment(base, "test.yaml");
    expect(d.id).toBe("a3e2f5dc-912e-494f-8395-52cf3769bc06");
    expect(d.applicationId).toBe("hello");
    expect(d.profileType).toBe("compose");
    expect(d.components.map((c) => [c.name, c.wait, c.timeoutMs])).toEqual([["web", true, 300_000], ["db", true, 300_000]]);
    expect(d.env).toEqual({ web: { SITE_ID: "SID-123", PORT: "8080" }, db: { SITE_ID: "SID-123" } });
  });

  test("variants: top-level id, spec.applicationId, helm for helm.v3", () => {
    const yaml = `apiVersion: margo.org
kind: ApplicationDeployment
id: dep-1
metadata: {name: chart}
spec:
  applicationId: my-app
  deploymentProfile:
    type: helm
    components: [{name: c1, properties: {repository: oci://example.com/chart, revision: "1.2.3", wait: false}}]
`;
    const d = parseDeployment(yaml, "t");
    expect([d.id, d.applicationId, d.profileType]).toEqual(["dep-1", "my-app", "helm.v3"]);
  });

  test("vendor extensions are allowed; the package digest pin is read from ours", () => {
    const pin = `sha256:${"b".repeat(64)}`;
    const yaml = base.replace("          wait: true\n", `          wait: true\n          x-margo-agent-extensions: {packageDigest: "${pin}"}\n`).replace("spec:\n", "spec:\n  x-acme-extensions: {foo: 1}\n");
    expect(parseDeployment(yaml, "t").components[0]!.packageDigest).toBe(pin);
  });

  test("errors say what and where", () => {
    expect(errorOf("kind: [").message).toMatch(/test.yaml: invalid YAML at line/);
    expect(errorOf(base.replace("kind: ApplicationDeployment", "kind: Pod")).message).toContain("kind");
    expect(errorOf(base.replace("type: compose", "type: k8s")).message).toContain("spec.deploymentProfile.type");
    expect(errorOf(base.replace("timeout: 5m0s", "timeout: soon")).message).toContain("timeout");
    expect(errorOf(base.replace("    id: a3e2f5dc-912e-494f-8395-52cf3769bc06\n", "")).message).toContain("metadata.annotations.id");
    expect(errorOf(base.replace("components: [web]}", "components: [nope]}")).message).toContain('"nope"');
    expect(errorOf(base.replace("  namespace: default\n", "  namespace: default\n  bogus: 1\n")).message).toContain('unknown field "bogus"');
    expect(errorOf(base.replace("      - name: db", "      - name: web")).message).toContain("listed twice");
  });

  test("a YAML alias bomb is refused", () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
`;
    expect(errorOf(bomb).code).toBe("DEPLOYMENT_INVALID");
  });
});
