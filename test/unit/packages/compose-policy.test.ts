import { describe, expect, test } from "bun:test";
import YAML from "yaml";
import { AgentError } from "../../../src/errors/index.ts";
import { type ComposePolicy, type HostFs, type HostPathKind, checkComposeModel } from "../../../src/packages/compose-policy.ts";

const strict: ComposePolicy = { allowPrivileged: false, allowHostNamespaces: false, allowedBindPaths: ["/srv/data"] };
const dir = "/var/lib/margo-agent/packages/sha256-abc";

/** A host with a few devices and symlinks, as the policy sees it. */
const links: Record<string, string> = {
  "/dev/disk/by-id/ata-disk0": "/dev/sda",
  "/srv/data/escape": "/",
  "/srv/alias": "/srv/data",
  "/opt/ttyS": "/dev/ttyS0",
};
const kinds: Record<string, HostPathKind> = {
  "/dev": "dir", "/dev/sda": "block", "/dev/sda1": "block", "/dev/mem": "char", "/dev/ttyUSB0": "char", "/dev/ttyS0": "char", "/dev/tty1": "char",
  "/dev/dri": "dir", "/dev/dri/card0": "char", "/dev/dri/renderD128": "char", "/dev/disk": "dir", "/dev/disk/by-id": "dir", "/dev/kmsg": "char",
  "/dev/net": "dir", "/dev/net/tun": "char", "/dev/bus": "dir", "/dev/bus/usb": "dir", "/dev/bus/usb/001": "dir", "/dev/bus/usb/001/002": "char",
};
const host: HostFs = {
  realpath(p) {
    let path = p;
    for (let i = 0; i < 10; i++) {
      const hit = Object.keys(links).find((l) => path === l || path.startsWith(`${l}/`));
      if (!hit) return path;
      path = links[hit]! + path.slice(hit.length);
      path = path.replace(/^\/\//, "/");
    }
    return path;
  },
  kind: (p) => kinds[p] ?? "missing",
  list: (d) => [...new Set(Object.keys({ ...kinds, ...links }).filter((k) => k.startsWith(`${d}/`)).map((k) => k.slice(d.length + 1).split("/")[0]!))],
};

function verdict(model: string | object, policy = strict): string {
  try {
    checkComposeModel(typeof model === "string" ? YAML.parse(model) : model, policy, { projectDir: dir, what: "component web", host });
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return `${(e as AgentError).code}: ${(e as AgentError).message}`;
  }
}

const svc = (body: string) => `services:\n  web:\n    image: x\n${body.replace(/^/gm, "    ")}\n`;

describe("compose policy on the rendered model", () => {
  test("an ordinary service passes, as v1 renders it and as v2 renders it", () => {
    expect(verdict(svc(`volumes: [data:/data:rw, "${dir}/conf:/etc/app:ro", /srv/data/app:/app:rw, {type: volume, source: data, target: /d}, {type: tmpfs, target: /t}, /anonymous]
devices: [/dev/ttyUSB0:/dev/ttyUSB0, /dev/dri:/dev/dri, /opt/ttyS:/dev/ttyS0, "vendor.com/gpu=all"]
cap_add: [NET_BIND_SERVICE, CAP_NET_ADMIN, SYS_NICE]
cap_drop: [ALL]
security_opt: [no-new-privileges:true, "label=level:s0:c100,c200"]
network_mode: service:db
ipc: shareable
pid: ""
userns_mode: keep-id
volumes_from: [db, "service:db:ro"]
sysctls: {net.core.somaxconn: 1024}
privileged: false
build: {context: ${dir}/src, dockerfile: Dockerfile}
env_file: [${dir}/app.env]
x-anything: {privileged: true}
runtime: runc
post_start: [{command: [sh, -c, "echo hi"]}]`) + `volumes:\n  data: {}\nnetworks:\n  back: {driver: bridge}\nsecrets:\n  s: {file: ${dir}/secret.txt}\nconfigs:\n  c: {file: /srv/data/c.conf}\nx-top: 1\nname: proj\nversion: "3.9"\n`)).toBe("ok");
    // v2 JSON shapes: long volume syntax everywhere, devices as objects, nulls for unset keys
    expect(verdict({
      name: "p",
      services: { web: { image: "x", command: null, entrypoint: null, networks: { default: null }, volumes: [{ type: "bind", source: "/srv/data/x", target: "/x", bind: { create_host_path: true } }], devices: [{ source: "/dev/ttyUSB0", target: "/dev/ttyUSB0", permissions: "rwm" }] } },
      networks: { default: { name: "p_default", ipam: {}, external: false } },
    })).toBe("ok");
  });

  // Every rule, with the ways around it that were found (issue 10), each named by the key it breaks.
  const denied: [string, string | object, string][] = [
    ["privileged", svc("privileged: true"), "services.web.privileged"],
    ["privileged as a string compose accepts", svc('privileged: "y"'), "services.web.privileged"],
    ["privileged as a number", { services: { web: { privileged: 1 } } }, "services.web.privileged"],
    ["a dangerous capability", svc("cap_add: [SYS_ADMIN]"), "capability SYS_ADMIN"],
    ["all capabilities", svc("cap_add: [ALL]"), "capability ALL"],
    ["the host clock", svc("cap_add: [cap_sys_time]"), "capability SYS_TIME"],
    ["seccomp unconfined", svc("security_opt: ['seccomp:unconfined']"), "seccomp:unconfined"],
    ["apparmor unconfined", svc("security_opt: ['apparmor=unconfined']"), "apparmor=unconfined"],
    ["SELinux disabled", svc("security_opt: ['label:disable']"), "label:disable"],
    ["SELinux super-privileged type", svc("security_opt: ['label=type:spc_t']"), "label=type:spc_t"],
    ["a seccomp profile from a host file", svc("security_opt: ['seccomp=/etc/passwd']"), "seccomp=/etc/passwd"],
    ["device cgroup rules", svc("device_cgroup_rules: ['b *:* rwm']"), "device cgroup rules"],
    ["a host cgroup", svc("cgroup_parent: /"), "services.web.cgroup_parent"],
    ["the engine socket by use_api_socket", svc("use_api_socket: true"), "services.web.use_api_socket"],
    ["a provider service (a host program)", svc("provider: {type: sh}"), "services.web.provider"],
    ["a container runtime given by path", svc("runtime: /var/lib/margo-agent/packages/x/evil"), "services.web.runtime"],
    ["OCI annotations", svc("annotations: {io.podman.annotations.label: disable}"), "services.web.annotations"],
    ["a privileged hook", svc("post_start: [{command: id, privileged: true}]"), "services.web.post_start.0.privileged"],
    ["host network", svc("network_mode: host"), "network_mode: host"],
    ["host network, v1 file format", svc("net: host"), "net: host"],
    ["a namespace path", svc("network_mode: 'ns:/proc/1/ns/net'"), "ns:/proc/1/ns/net"],
    ["a network by name", svc("network_mode: some-other-net"), "network_mode: some-other-net"],
    ["host pid", svc("pid: host"), "pid: host"],
    ["another container's pid", svc("pid: 'container:abc'"), "pid: container:abc"],
    ["host ipc", svc("ipc: host"), "ipc: host"],
    ["host uts", svc("uts: host"), "uts: host"],
    ["host user namespace", svc("userns_mode: host"), "userns_mode: host"],
    ["host cgroup namespace", svc("cgroup: host"), "cgroup: host"],
    ["another container's network", svc("network_mode: 'container:abc'"), "container:abc"],
    ["another container's volumes", svc("volumes_from: ['container:abc:rw']"), "container:abc:rw"],
    ["the host network by a top-level network", svc("networks: [hn]") + "networks:\n  hn: {name: host, external: true}\n", "networks.hn"],
    ["a host-driver network", svc("networks: [hn]") + "networks:\n  hn: {driver: host}\n", "networks.hn"],
    ["a host path outside the allowlist (short syntax)", svc("volumes: ['/:/host:rw']"), "host path / is not allowed"],
    ["a host path outside the allowlist (long syntax)", svc("volumes: [{type: bind, source: /etc, target: /e}]"), "host path /etc"],
    ["the engine socket", svc("volumes: [{type: bind, source: /var/run/docker.sock, target: /s}]"), "/var/run/docker.sock"],
    ["a relative path escaping the package", svc("volumes: ['../../../../etc:/e']"), "host path /var/etc"],
    ["a home path", svc("volumes: ['~/.ssh:/k']"), "home-relative"],
    ["a symlink inside an allowed path pointing out of it", svc("volumes: ['/srv/data/escape/etc:/e']"), "(/etc after following symlinks)"],
    ["a prefix that is not a parent", svc("volumes: ['/srv/database:/d']"), "host path /srv/database"],
    ["a host named pipe", svc("volumes: [{type: npipe, source: x, target: /p}]"), "named pipes"],
    ["a bind in disguise (named volume)", svc("volumes: [v:/v]") + "volumes:\n  v: {driver_opts: {type: none, o: bind, device: /root}}\n", "volumes.v.driver_opts.device"],
    ["a raw block device as a volume", svc("volumes: [v:/v]") + "volumes:\n  v: {driver_opts: {type: ext4, device: /dev/sda1}}\n", "host path /dev/sda1"],
    ["a secret from a host file", svc("secrets: [s]") + "secrets:\n  s: {file: /etc/shadow}\n", "secrets.s.file: host path /etc/shadow"],
    ["a config from a host file", svc("configs: [c]") + "configs:\n  c: {file: /etc/ssh/sshd_config}\n", "configs.c.file: host path /etc/ssh/sshd_config"],
    ["a raw disk", svc("devices: ['/dev/sda:/dev/sda']"), "/dev/sda"],
    ["a raw disk through a /dev/disk/by-id symlink", svc("devices: ['/dev/disk/by-id/ata-disk0:/dev/x']"), "/dev/disk/by-id/ata-disk0 (/dev/sda after following symlinks)"],
    ["a raw disk as a v2 device object", { services: { web: { devices: [{ source: "/dev/disk/by-id/ata-disk0", target: "/dev/x", permissions: "rwm" }] } } }, "/dev/sda after following symlinks"],
    ["a directory holding a disk", svc("devices: ['/dev/disk:/dev/disk']"), "holds /dev/sda"],
    ["all of /dev", svc("devices: ['/dev:/dev']"), "holds /dev/"],
    ["a disk that is not there yet", svc("devices: ['/dev/nvme0n1:/dev/x']"), "/dev/nvme0n1"],
    ["memory", svc("devices: ['/dev/mem:/dev/mem']"), "/dev/mem"],
    ["the kernel log", svc("devices: ['/dev/kmsg']"), "/dev/kmsg"],
    ["a virtual console (keystroke injection)", svc("devices: ['/dev/tty1']"), "/dev/tty1"],
    ["a file that is not a device", svc("devices: ['/etc/shadow:/dev/x']"), "is not under /dev"],
    ["a relative device", svc("devices: ['sda:/dev/sda']"), "neither a path under /dev"],
    ["a build context outside the package", svc("build: {context: /}"), "services.web.build.context: / is outside the package"],
    ["a build from a URL", svc("build: 'https://example.com/repo.git'"), "building from https://example.com/repo.git"],
    ["a Dockerfile outside the package", svc(`build: {context: ${dir}, dockerfile: ../../../../etc/Dockerfile}`), "services.web.build.dockerfile"],
    ["an extra build context outside", svc(`build: {context: ${dir}, additional_contexts: {etc: /etc}}`), "additional_contexts.etc"],
    ["the host's SSH agent in a build", svc(`build: {context: ${dir}, ssh: [default]}`), "services.web.build.ssh"],
    ["a build on the host network", svc(`build: {context: ${dir}, network: host}`), "services.web.build.network"],
    ["a privileged build", svc(`build: {context: ${dir}, privileged: true}`), "services.web.build.privileged"],
    ["build entitlements", svc(`build: {context: ${dir}, entitlements: [network.host]}`), "services.web.build.entitlements"],
    ["an env file of the host", svc("env_file: [/etc/environment]"), "services.web.env_file.0"],
    ["a label file of the host", svc("label_file: /etc/os-release"), "services.web.label_file.0"],
    ["a service key the policy does not know", svc("future_host_escape: true"), '"future_host_escape" is not a service key'],
    ["a top-level key the policy does not know", svc("") + "include: [/x.yaml]\n", 'top-level key "include"'],
  ];
  for (const [what, model, mention] of denied) {
    test(`refuses ${what}`, () => {
      const v = verdict(model);
      expect(v).toStartWith("COMPOSE_POLICY_DENIED: component web: ");
      expect(v).toContain(mention);
    });
  }

  test("the policy can allow what a device maker wants", () => {
    const open: ComposePolicy = { allowPrivileged: true, allowHostNamespaces: true, allowedBindPaths: ["/"] };
    expect(verdict(svc("privileged: true\nnetwork_mode: host\npid: host\ncap_add: [SYS_ADMIN]\ndevices: [/dev/ttyUSB0]\nvolumes: ['/:/host']\nsecurity_opt: [seccomp=unconfined]\nvolumes_from: ['container:x']"), open)).toBe("ok");
    expect(verdict(svc("volumes: ['/etc:/e']"), { ...strict, allowedBindPaths: ["/etc"] })).toBe("ok");
    // an allowed root that is itself a symlink is judged where it leads
    expect(verdict(svc("volumes: ['/srv/alias/x:/x']"))).toBe("ok");
    // a provider runs a host program, and raw disks are never mapped: no policy allows those
    expect(verdict(svc("provider: {type: model}"), open)).toContain("services.web.provider");
    expect(verdict(svc("devices: [/dev/disk/by-id/ata-disk0]"), open)).toContain("/dev/sda after following symlinks");
  });

  test("what is not a compose model is COMPOSE_INVALID", () => {
    expect(verdict("- a\n")).toStartWith("COMPOSE_INVALID");
    expect(verdict({ services: { web: 5 } })).toStartWith("COMPOSE_INVALID");
  });
});
