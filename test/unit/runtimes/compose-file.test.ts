import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { outlineCompose, outlineModel, overrideYaml } from "../../../runtimes/shared/compose-file.ts";
import { AgentError } from "../../../src/errors/index.ts";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as AgentError).code;
  }
  return "no error";
};

describe("outlineCompose", () => {
  test("lists services, owned networks and volumes, and the default network", () => {
    const o = outlineCompose(
      `services:
  a: { image: x }
  b: { image: x, networks: [back] }
  c: { image: x, profiles: [debug] }
  d: { image: x, deploy: { replicas: 0 } }
networks:
  back: {}
  shared: { external: true }
volumes:
  data: {}
  ext: { external: true }
`,
      "f.yaml",
    );
    expect(o).toEqual({
      version: undefined,
      services: ["a", "b", "c", "d"],
      startedServices: ["a", "b"],
      networks: ["back"],
      volumes: ["data"],
      usesDefaultNetwork: true,
      jobs: ["a", "b", "c", "d"],
    });
  });

  test("services without a restart policy are one-shot jobs, labelled so", () => {
    const o = outlineCompose("services:\n  db: {image: x, restart: always}\n  migrate: {image: x}\n  w: {image: x, deploy: {restart_policy: {condition: on-failure}}}\n", "f");
    expect(o.jobs).toEqual(["migrate"]);
    const doc = parse(overrideYaml(o, { k: "v" })) as { services: Record<string, { labels: Record<string, string> }> };
    expect(doc.services.migrate!.labels).toEqual({ k: "v", "org.margo.job": "true" });
    expect(doc.services.db!.labels).toEqual({ k: "v" });
  });

  test("malformed or empty files are COMPOSE_INVALID", () => {
    expect(codeOf(() => outlineCompose("services: [", "f"))).toBe("COMPOSE_INVALID");
    expect(codeOf(() => outlineCompose("- a\n- b\n", "f"))).toBe("COMPOSE_INVALID");
    expect(codeOf(() => outlineCompose("version: '3'\n", "f"))).toBe("COMPOSE_INVALID");
    expect(codeOf(() => outlineCompose("services:\n  a: 5\n", "f"))).toBe("COMPOSE_INVALID");
  });
});

describe("outlineModel (the model the compose tool rendered)", () => {
  test("reads v2's JSON shapes and what merge keys or extends contributed", () => {
    const v2 = {
      name: "p",
      services: {
        a: { image: "x", command: null, networks: { default: null }, restart: "always" },
        b: { image: "x", profiles: ["debug"], networks: { default: null } },
      },
      networks: { default: { name: "p_default", ipam: {}, external: false } },
      volumes: { data: { name: "p_data", external: false }, ext: { name: "e", external: true } },
    };
    expect(outlineModel(v2, undefined, "f")).toEqual({ version: undefined, services: ["a", "b"], startedServices: ["a"], networks: ["default"], volumes: ["data"], usesDefaultNetwork: false, jobs: ["b"] });
    // a restart policy from a merge key makes the service a long-running one, not a job
    expect(outlineCompose("x-b: &b {restart: always}\nservices:\n  a: {<<: *b, image: x}\n", "f").jobs).toEqual([]);
  });
});

describe("overrideYaml", () => {
  const labels = { "org.margo.managed-by": "margo-agent" };

  test("labels every service, network and volume of a versionless file", () => {
    const o = outlineCompose("services:\n  a: { image: x, restart: always }\nvolumes:\n  data: {}\n", "f");
    expect(parse(overrideYaml(o, labels))).toEqual({
      services: { a: { labels } },
      networks: { default: { labels } },
      volumes: { data: { labels } },
    });
  });

  test("repeats the file's version and labels only services where the format has no resource labels", () => {
    const o = outlineCompose("version: '3.1'\nservices:\n  a: { image: x, restart: always }\n", "f");
    expect(parse(overrideYaml(o, labels))).toEqual({ version: "3.1", services: { a: { labels } } });
    const o2 = outlineCompose("version: '2.4'\nservices:\n  a: { image: x }\n", "f");
    expect(parse(overrideYaml(o2, labels)).networks).toEqual({ default: { labels } });
  });
});
