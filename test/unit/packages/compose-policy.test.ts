import { describe, expect, test } from "bun:test";
import { AgentError } from "../../../src/errors/index.ts";
import { checkComposePolicy, interpolate, parseDotEnv } from "../../../src/packages/compose-policy.ts";

const strict = { allowPrivileged: false, allowHostNamespaces: false, allowedBindPaths: ["/srv/data"] };
const dir = "/var/lib/margo-agent/packages/sha256-abc";

function verdict(compose: string, env: Record<string, string> = {}, policy = strict): string {
  try {
    checkComposePolicy(compose, env, policy, dir, "component web");
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return `${(e as AgentError).code}: ${(e as AgentError).message}`;
  }
}

describe("compose policy", () => {
  test("an ordinary service passes", () => {
    expect(verdict("services:\n  web:\n    image: x\n    volumes: [data:/data, ./conf:/etc/app:ro, /srv/data/app:/app]\n    devices: [/dev/ttyUSB0:/dev/ttyUSB0]\n    cap_add: [NET_BIND_SERVICE]\n    network_mode: service:db\nvolumes: {data: {}}\n")).toBe("ok");
  });

  const denied: [string, string, string][] = [
    ["privileged", "services:\n  web: {image: x, privileged: true}\n", "services.web.privileged"],
    ["a dangerous capability", "services:\n  web: {image: x, cap_add: [SYS_ADMIN]}\n", "capability SYS_ADMIN"],
    ["seccomp unconfined", "services:\n  web: {image: x, security_opt: ['seccomp:unconfined']}\n", "seccomp:unconfined"],
    ["host network", "services:\n  web: {image: x, network_mode: host}\n", "network_mode: host"],
    ["host pid", "services:\n  web: {image: x, pid: host}\n", "pid: host"],
    ["another container's namespace", "services:\n  web: {image: x, network_mode: 'container:abc'}\n", "container:abc"],
    ["a host path outside the allowlist", "services:\n  web: {image: x, volumes: ['/etc:/host-etc']}\n", "host path /etc"],
    ["the engine socket", "services:\n  web: {image: x, volumes: [{type: bind, source: /var/run/docker.sock, target: /s}]}\n", "/var/run/docker.sock"],
    ["a relative path escaping the package", "services:\n  web: {image: x, volumes: ['../../../../etc:/e']}\n", "host path /var/etc"],
    ["a home path", "services:\n  web: {image: x, volumes: ['~/.ssh:/k']}\n", "home-relative"],
    ["a raw disk", "services:\n  web: {image: x, devices: ['/dev/sda:/dev/sda']}\n", "/dev/sda"],
    ["memory", "services:\n  web: {image: x, devices: ['/dev/mem:/dev/mem']}\n", "/dev/mem"],
    ["a bind in disguise", "services:\n  web: {image: x, volumes: [v:/v]}\nvolumes:\n  v: {driver_opts: {type: none, o: bind, device: /root}}\n", "volumes.v.driver_opts.device"],
  ];
  for (const [what, compose, mention] of denied) {
    test(`refuses ${what}`, () => {
      const v = verdict(compose);
      expect(v).toStartWith("COMPOSE_POLICY_DENIED: component web: ");
      expect(v).toContain(mention);
    });
  }

  test("parameters are interpolated first: a variable cannot smuggle privileges in", () => {
    expect(verdict("services:\n  web: {image: x, privileged: '${P:-false}'}\n", { P: "true" })).toContain("privileged");
    expect(verdict("services:\n  web: {image: x, privileged: '${P:-false}'}\n", {})).toBe("ok");
    expect(verdict("services:\n  web: {image: x, volumes: ['${SRC}:/d']}\n", { SRC: "/" })).toContain("host path /");
  });

  test("the policy can allow what a device maker wants", () => {
    expect(verdict("services:\n  web: {image: x, privileged: true, network_mode: host}\n", {}, { ...strict, allowPrivileged: true, allowHostNamespaces: true })).toBe("ok");
  });

  test("interpolation and .env follow compose", () => {
    expect(interpolate("a ${X} ${Y:-d} ${Z-e} $X $$X", { X: "1", Y: "" })).toBe("a 1 d e 1 \u0000X");
    expect(parseDotEnv("# c\nA=1\nexport B='two'\n\nC = \"3\"\n")).toEqual({ A: "1", B: "two", C: "3" });
  });
});
