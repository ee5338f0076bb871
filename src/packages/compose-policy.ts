/**
 * What a compose file from the WFM may ask of the device. The WFM chooses the
 * workloads, but a device maker chooses what a workload may do to the host:
 * by default no privileged containers, no host namespaces, no host paths
 * outside an allowlist, no raw disk or memory devices. Pure: text in, verdict out.
 *
 * Values are checked after the interpolation compose itself would do (the
 * component's parameters and the package's .env), so `privileged: ${P}` cannot
 * slip through; a policy-relevant value that still holds a variable is refused.
 */
import { isAbsolute, normalize, resolve, sep } from "node:path";
import YAML from "yaml";
import { AgentError } from "../errors/index.ts";

export interface ComposePolicy {
  allowPrivileged: boolean;
  allowHostNamespaces: boolean;
  /** Host paths (and everything below them) that bind mounts may use. */
  allowedBindPaths: readonly string[];
}

const DANGEROUS_CAPS = new Set(["ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_BOOT", "DAC_READ_SEARCH", "BPF", "MAC_ADMIN"]);
const HOST_NAMESPACE_KEYS = ["network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup"] as const;
/** Devices that give the host away: memory, raw block devices. */
const DENIED_DEVICE = /^\/dev\/(mem|kmem|port|sd[a-z].*|nvme.*|mmcblk.*|vd[a-z].*|hd[a-z].*|xvd.*|loop.*|dm-.*|mapper\/.*)$/;

/** ${VAR}, ${VAR:-default}, ${VAR-default} and $VAR, as compose reads them; $$ is a literal $. */
export function interpolate(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced, op, fallback, bare) => {
    if (whole === "$$") return "\u0000";
    const name = braced ?? bare;
    const value = env[name];
    if (op === ":-") return value ? value : (fallback ?? "");
    if (op === "-") return value !== undefined ? value : (fallback ?? "");
    return value ?? "";
  });
}

/** KEY=VALUE lines of a .env file (comments and blanks skipped, optional quotes removed). */
export function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    env[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, "$2");
  }
  return env;
}

function within(path: string, roots: readonly string[]): boolean {
  const p = normalize(path);
  return roots.some((r) => {
    const root = normalize(r).replace(/\/+$/, "");
    return p === root || p.startsWith(root + sep);
  });
}

/**
 * Throws COMPOSE_POLICY_DENIED naming the service, the key and the value when
 * the compose file asks for more than the policy allows. `projectDir` is where
 * relative bind paths resolve (the package's directory in the data directory).
 */
export function checkComposePolicy(composeText: string, env: Readonly<Record<string, string>>, policy: ComposePolicy, projectDir: string, what: string): void {
  let doc: unknown;
  try {
    doc = YAML.parse(interpolate(composeText, env), { maxAliasCount: 100 });
  } catch (err) {
    throw new AgentError("COMPOSE_INVALID", `${what}: the compose file is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const deny = (where: string, why: string): never => {
    throw new AgentError("COMPOSE_POLICY_DENIED", `${what}: ${where}: ${why}`, { where });
  };
  const literal = (where: string, value: unknown): string => {
    const text = String(value);
    if (text.includes("$")) deny(where, `${JSON.stringify(text)} still holds a variable after interpolation; the policy needs a literal value here`);
    return text.replaceAll("\u0000", "$");
  };
  const checkBind = (where: string, source: string) => {
    const src = literal(where, source);
    if (src.startsWith("~")) deny(where, `bind mount of ${src}: home-relative host paths are not allowed`);
    const isPath = isAbsolute(src) || src.startsWith(".");
    if (!isPath) return; // a named volume
    const abs = isAbsolute(src) ? normalize(src) : resolve(projectDir, src);
    if (!isAbsolute(src) && within(abs, [projectDir])) return; // inside the package itself
    if (!within(abs, policy.allowedBindPaths)) {
      deny(where, `bind mount of host path ${abs} is not allowed (policy.allowedBindPaths: ${policy.allowedBindPaths.length ? policy.allowedBindPaths.join(", ") : "none"})`);
    }
  };

  const root = (doc ?? {}) as Record<string, unknown>;
  const services = (root.services ?? {}) as Record<string, Record<string, unknown> | null>;
  for (const [name, service] of Object.entries(services)) {
    if (!service || typeof service !== "object") continue;
    const at = (key: string) => `services.${name}.${key}`;
    if (service.privileged !== undefined && ["true", "yes", "on"].includes(literal(at("privileged"), service.privileged).toLowerCase()) && !policy.allowPrivileged) {
      deny(at("privileged"), "privileged containers are not allowed (policy.allowPrivileged: false)");
    }
    for (const cap of (service.cap_add as unknown[] | undefined) ?? []) {
      const c = literal(at("cap_add"), cap).toUpperCase().replace(/^CAP_/, "");
      if (DANGEROUS_CAPS.has(c) && !policy.allowPrivileged) deny(at("cap_add"), `capability ${c} is not allowed (policy.allowPrivileged: false)`);
    }
    for (const opt of (service.security_opt as unknown[] | undefined) ?? []) {
      const o = literal(at("security_opt"), opt);
      if (/unconfined/.test(o) && !policy.allowPrivileged) deny(at("security_opt"), `${o} is not allowed (policy.allowPrivileged: false)`);
    }
    for (const key of HOST_NAMESPACE_KEYS) {
      if (service[key] === undefined || policy.allowHostNamespaces) continue;
      const v = literal(at(key), service[key]);
      // "host" shares the host's; "container:<id>" joins a container that may not be ours.
      if (v === "host" || v.startsWith("container:")) deny(at(key), `${key}: ${v} is not allowed (policy.allowHostNamespaces: false)`);
    }
    for (const [i, vol] of ((service.volumes as unknown[] | undefined) ?? []).entries()) {
      const where = at(`volumes.${i}`);
      if (typeof vol === "string") checkBind(where, vol.split(":")[0]!);
      else if (vol && typeof vol === "object") {
        const v = vol as { type?: string; source?: string };
        if ((v.type === "bind" || v.type === undefined) && v.source) checkBind(where, v.source);
      }
    }
    for (const [i, dev] of ((service.devices as unknown[] | undefined) ?? []).entries()) {
      const hostPath = literal(at(`devices.${i}`), typeof dev === "string" ? dev.split(":")[0] : (dev as { source?: string })?.source ?? "");
      if (DENIED_DEVICE.test(normalize(hostPath))) deny(at(`devices.${i}`), `device ${hostPath} (raw memory or block device) is not allowed`);
    }
  }
  // A named volume can be a bind in disguise (driver_opts with o: bind and a device path).
  for (const [name, vol] of Object.entries((root.volumes ?? {}) as Record<string, Record<string, unknown> | null>)) {
    const device = (vol?.driver_opts as Record<string, unknown> | undefined)?.device;
    if (device !== undefined) checkBind(`volumes.${name}.driver_opts.device`, String(device));
  }
}
