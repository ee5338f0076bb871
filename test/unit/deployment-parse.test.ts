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
  test("the docs/protocol.md §5 form", () => {
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

  test("__proto__, constructor and prototype keys are refused in every mapping the agent reads", () => {
    // Each insertion puts the key into one mapping: the document, metadata, annotations, labels,
    // spec, the profile, a component, its properties, the parameters, a parameter, a target.
    const places: [string, string, (key: string) => string][] = [
      ["document", "kind: ApplicationDeployment\n", (k) => `kind: ApplicationDeployment\n${k}: {x: 1}\n`],
      ["metadata", "  name: hello-world\n", (k) => `  name: hello-world\n  ${k}: {name: other}\n`],
      ["annotations", "    applicationId: hello\n", (k) => `    applicationId: hello\n    ${k}: {id: ".."}\n`],
      ["labels", "  namespace: default\n", (k) => `  namespace: default\n  labels: {${k}: x}\n`],
      ["spec", "spec:\n", (k) => `spec:\n  ${k}: {x: 1}\n`],
      ["deploymentProfile", "    type: compose\n", (k) => `    type: compose\n    ${k}: {type: helm}\n`],
      ["component", "      - name: db\n", (k) => `      - name: db\n        ${k}: {name: x}\n`],
      ["properties", "          wait: \"true\"\n", (k) => `          wait: "true"\n          ${k}: {packageLocation: x}\n`],
      ["parameters", "  parameters:\n", (k) => `  parameters:\n    ${k}:\n      value: 1\n      targets: [{pointer: P, components: [web]}]\n`],
      ["parameter", "      value: SID-123\n", (k) => `      value: SID-123\n      ${k}: {value: 2}\n`],
      ["target", "{pointer: PORT, components: [web]}", (k) => `{pointer: PORT, components: [web], ${k}: {pointer: PATH}}`],
    ];
    for (const key of ["__proto__", "constructor", "prototype"]) {
      for (const [where, find, insert] of places) {
        const yaml = base.replace(find, insert(key));
        expect({ where, changed: yaml !== base }).toEqual({ where, changed: true });
        let error: AgentError | undefined;
        try {
          parseDeployment(yaml, "test.yaml");
        } catch (e) {
          error = e as AgentError;
        }
        expect({ key, where, code: error?.code }).toEqual({ key, where, code: "DEPLOYMENT_INVALID" });
        expect(error!.message).toContain(`"${key}"`);
      }
    }
    // A parameter's value is the operator's data: any keys in it pass as they are.
    const valued = base.replace("      value: SID-123\n", "      value: {constructor: 1}\n");
    expect(parseDeployment(valued, "t").env.web!.SITE_ID).toBe('{"constructor":1}');
  });

  test("deployment ids must be safe path segments (metadata.annotations.id and the top-level id)", () => {
    for (const id of ['"."', '".."', "../etc", "a/b", "-rf", "~x"]) {
      expect({ id, code: errorOf(base.replace("id: a3e2f5dc-912e-494f-8395-52cf3769bc06", `id: ${id}`)).code }).toEqual({ id, code: "DEPLOYMENT_INVALID" });
      const top = `apiVersion: margo.org\nkind: ApplicationDeployment\nid: ${id}\nmetadata: {name: chart}\nspec:\n  deploymentProfile:\n    type: helm\n    components: [{name: c1, properties: {repository: oci://example.com/chart}}]\n`;
      expect({ id, code: errorOf(top).code }).toEqual({ id, code: "DEPLOYMENT_INVALID" });
    }
    expect(errorOf(base.replace("id: a3e2f5dc-912e-494f-8395-52cf3769bc06", 'id: ".."')).message).toContain("metadata.annotations.id");
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
