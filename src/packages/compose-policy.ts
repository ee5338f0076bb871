/**
 * What a compose workload from the WFM may ask of the device. The WFM chooses
 * the workloads, but the device maker chooses what a workload may do to the
 * host (`policy:` in the config). By default: no privileged containers, no
 * host namespaces, no host paths outside an allowlist, no raw disk, memory or
 * console devices.
 *
 * The verdict is on the model the compose tool itself renders (`config`, with
 * the same env file, files and project as `up`): merge keys, `extends`, `.env`
 * values, parameters and interpolation are all resolved by compose, never by
 * the agent, so the agent's view and compose's cannot differ. Service keys are
 * an allowlist: a key the policy does not know is refused, not ignored. Host
 * paths are judged after following symlinks.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from "node:path";
import { AgentError } from "../errors/index.ts";

export interface ComposePolicy {
  allowPrivileged: boolean;
  allowHostNamespaces: boolean;
  /** Host paths (and everything below them) that bind mounts, secrets and configs may use. */
  allowedBindPaths: readonly string[];
}

/** The default when nothing says otherwise. */
export const STRICT_POLICY: ComposePolicy = { allowPrivileged: false, allowHostNamespaces: false, allowedBindPaths: [] };

export type HostPathKind = "block" | "char" | "dir" | "file" | "missing" | "other";

/** The host file system as the policy needs it; tests substitute one. */
export interface HostFs {
  /** `path` with every symlink of its longest existing prefix resolved, the rest appended. */
  realpath(path: string): string;
  /** What is at `path` (symlinks followed). */
  kind(path: string): HostPathKind;
  /** Entry names of a directory. */
  list(dir: string): string[];
}

export const hostFs: HostFs = {
  realpath(path) {
    let head = normalize(path);
    const tail: string[] = [];
    for (;;) {
      try {
        return join(realpathSync(head), ...tail);
      } catch {
        if (head === "/" || head === ".") return normalize(path);
        tail.unshift(basename(head));
        head = dirname(head);
      }
    }
  },
  kind(path) {
    try {
      const s = statSync(path);
      return s.isBlockDevice() ? "block" : s.isCharacterDevice() ? "char" : s.isDirectory() ? "dir" : s.isFile() ? "file" : "other";
    } catch {
      return "missing";
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/** Capabilities a container may add: Docker's defaults and ones that act only inside its own namespaces. */
export const ALLOWED_CAPABILITIES = new Set([
  // Docker's default set: adding one is a no-op.
  "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
  // Namespaced or limited to the container's own processes and resources.
  "NET_ADMIN", "NET_BROADCAST", "IPC_LOCK", "IPC_OWNER", "SYS_NICE", "SYS_RESOURCE", "SYS_TTY_CONFIG", "WAKE_ALARM", "BLOCK_SUSPEND", "LEASE",
]);

/** security_opt entries that only tighten confinement or set an SELinux user, role or level. */
const ALLOWED_SECURITY_OPT = [/^no-new-privileges(?:[:=](?:true|false))?$/i, /^label[:=](?:user|role|level):/];

/** Allowed values per namespace key (absent and "" always are); anything else needs allowHostNamespaces. */
const NAMESPACE_VALUES: Record<string, RegExp> = {
  network_mode: /^(none|bridge|default|service:.+)$/,
  net: /^(none|bridge|default|service:.+)$/,
  pid: /^(private|service:.+)$/,
  ipc: /^(private|shareable|none|service:.+)$/,
  uts: /^private$/,
  userns_mode: /^(private|auto(:.*)?|keep-id(:.*)?|nomap)$/,
  cgroup: /^private$/,
};

/** Service keys that need no check (resources, metadata, the container's own process and networking). */
const PLAIN_SERVICE_KEYS = new Set([
  "attach", "blkio_config", "cap_drop", "command", "configs", "container_name", "cpu_count", "cpu_percent", "cpu_period",
  "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpus", "cpuset", "cpu_shares", "credential_spec", "depends_on", "deploy", "develop",
  "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "environment", "expose", "external_links", "extra_hosts", "gpus", "group_add",
  "healthcheck", "hostname", "image", "init", "isolation", "labels", "links", "logging", "log_driver", "log_opt", "mac_address", "mem_limit",
  "mem_reservation", "mem_swappiness", "memswap_limit", "models", "networks", "oom_kill_disable", "oom_score_adj", "pids_limit", "platform",
  "ports", "profiles", "pull_policy", "read_only", "restart", "scale", "secrets", "shm_size", "stdin_open", "stop_grace_period",
  "stop_signal", "storage_opt", "sysctls", "tmpfs", "tty", "ulimits", "user", "volume_driver", "working_dir",
]);

const TOP_LEVEL_KEYS = new Set(["version", "name", "services", "networks", "volumes", "secrets", "configs", "models"]);

/** Character devices that give the host away (relative to /dev); every block device does too. */
const DENIED_CHAR_DEVICE =
  /^(mem|kmem|port|nvram|snapshot|kmsg|console|tty\d*|vcs.*|uinput|sg\d+|bsg(\/.*)?|nvme\d+|ng\d+n\d+|mtd.*|ubi.*|cpu(\/.*)?|tpm.*|tpmrm.*|mei.*|ipmi.*|vfio(\/.*)?|mapper\/control|loop-control|btrfs-control|autofs)$/;
/** Names of block devices, for a path that does not exist (yet) and so cannot be looked at. */
const BLOCK_DEVICE_NAME =
  /^(sd[a-z].*|hd[a-z].*|vd[a-z].*|xvd.*|nvme\d+n\d+.*|mmcblk.*|loop\d+|dm-\d+|md\d+.*|mapper\/.*|nbd\d+.*|zram\d+|ram\d+|mtdblock.*|sr\d+|disk\/.*|block\/.*)$/;
/** Container Device Interface names (vendor.com/class=name): devices the device maker configured. */
const CDI_DEVICE = /^[a-z0-9.-]+\/[a-z0-9._-]+=[^\s:]+$/i;

export interface ModelContext {
  /** The package's directory (the compose project directory). */
  projectDir: string;
  /** What is being applied, for messages: `applying component "web" of deployment d`. */
  what: string;
  host?: HostFs;
}

/**
 * Throws COMPOSE_POLICY_DENIED, naming the key and the value, when the rendered
 * compose model asks for more than `policy` allows; COMPOSE_INVALID when it is
 * not a compose model at all.
 */
export function checkComposeModel(model: unknown, policy: ComposePolicy, ctx: ModelContext): void {
  new Judge(policy, ctx).model(model);
}

class Judge {
  private readonly host: HostFs;
  private readonly packageRoot: string;
  private readonly bindRoots: string[];

  constructor(
    private readonly policy: ComposePolicy,
    private readonly ctx: ModelContext,
  ) {
    this.host = ctx.host ?? hostFs;
    this.packageRoot = this.host.realpath(ctx.projectDir);
    this.bindRoots = policy.allowedBindPaths.map((p) => this.host.realpath(p));
  }

  private deny(where: string, why: string): never {
    throw new AgentError("COMPOSE_POLICY_DENIED", `${this.ctx.what}: ${where}: ${why}`, { where });
  }

  model(model: unknown): void {
    if (!isRecord(model) || !isRecord(model.services)) {
      throw new AgentError("COMPOSE_INVALID", `${this.ctx.what}: the compose tool rendered no "services" mapping`);
    }
    for (const key of Object.keys(model)) {
      if (!TOP_LEVEL_KEYS.has(key) && !key.startsWith("x-")) this.deny(key, `top-level key "${key}" is not allowed by the device's compose policy`);
    }
    for (const [name, service] of Object.entries(model.services)) {
      if (!isRecord(service)) throw new AgentError("COMPOSE_INVALID", `${this.ctx.what}: service "${name}" is not a mapping`);
      this.service(`services.${name}`, service);
    }
    for (const [name, net] of entries(model.networks)) this.network(`networks.${name}`, net);
    for (const [name, vol] of entries(model.volumes)) this.volume(`volumes.${name}`, vol);
    for (const kind of ["secrets", "configs"] as const) {
      for (const [name, item] of entries(model[kind])) {
        if (isRecord(item) && item.file !== undefined && item.file !== null) this.hostPath(`${kind}.${name}.file`, str(item.file));
      }
    }
  }

  private service(at: string, svc: Record<string, unknown>): void {
    const p = this.policy;
    for (const [key, value] of Object.entries(svc)) {
      const where = `${at}.${key}`;
      if (value === undefined || value === null) continue;
      if (PLAIN_SERVICE_KEYS.has(key) || key.startsWith("x-")) continue;
      switch (key) {
        case "privileged":
          if (truthy(value) && !p.allowPrivileged) this.deny(where, "privileged containers are not allowed (policy.allowPrivileged: false)");
          break;
        case "cap_add":
          for (const cap of list(value)) {
            const c = str(cap).toUpperCase().replace(/^CAP_/, "");
            if (!ALLOWED_CAPABILITIES.has(c) && !p.allowPrivileged) this.deny(where, `capability ${c} is not allowed (policy.allowPrivileged: false)`);
          }
          break;
        case "security_opt":
          for (const opt of list(value)) {
            const o = str(opt);
            if (!ALLOWED_SECURITY_OPT.some((r) => r.test(o)) && !p.allowPrivileged) this.deny(where, `${o} is not allowed (policy.allowPrivileged: false; only no-new-privileges and SELinux user/role/level labels are)`);
          }
          break;
        case "device_cgroup_rules":
          if (list(value).length && !p.allowPrivileged) this.deny(where, "device cgroup rules open raw device access and are not allowed (policy.allowPrivileged: false)");
          break;
        case "cgroup_parent":
          if (str(value) !== "" && !p.allowPrivileged) this.deny(where, `placing the container in host cgroup ${str(value)} is not allowed (policy.allowPrivileged: false)`);
          break;
        case "use_api_socket":
          if (truthy(value) && !p.allowPrivileged) this.deny(where, "the engine's API socket gives the container the host (policy.allowPrivileged: false)");
          break;
        case "provider":
          this.deny(where, "a provider service runs a program on the host, which the agent never does");
          break;
        case "runtime":
          // A name the engine's configuration defines (runc, crun, kata, …); Podman also takes a path to any program.
          if (str(value).includes("/")) this.deny(where, `${str(value)}: a container runtime given by path is a program on the host; only runtime names the engine defines are allowed`);
          break;
        case "annotations":
          if ((Array.isArray(value) ? value.length : isRecord(value) ? Object.keys(value).length : 1) > 0 && !p.allowPrivileged) {
            this.deny(where, "OCI annotations can change how the container runtime confines the container (policy.allowPrivileged: false)");
          }
          break;
        case "post_start":
        case "pre_stop":
          for (const [i, hook] of list(value).entries()) {
            if (isRecord(hook) && truthy(hook.privileged) && !p.allowPrivileged) this.deny(`${where}.${i}.privileged`, "privileged hooks are not allowed (policy.allowPrivileged: false)");
          }
          break;
        case "network_mode":
        case "net":
        case "pid":
        case "ipc":
        case "uts":
        case "userns_mode":
        case "cgroup": {
          const v = str(value);
          if (v !== "" && !NAMESPACE_VALUES[key]!.test(v) && !p.allowHostNamespaces) {
            this.deny(where, `${key}: ${v} is not allowed (policy.allowHostNamespaces: false; the host's or another container's namespace)`);
          }
          break;
        }
        case "volumes_from":
          for (const from of list(value)) {
            if (str(from).startsWith("container:") && !p.allowHostNamespaces) this.deny(where, `${str(from)}: volumes of a container outside the project are not allowed (policy.allowHostNamespaces: false)`);
          }
          break;
        case "volumes":
          for (const [i, vol] of list(value).entries()) this.serviceVolume(`${where}.${i}`, vol);
          break;
        case "devices":
          for (const [i, dev] of list(value).entries()) {
            const source = typeof dev === "string" ? dev.split(":")[0]! : isRecord(dev) ? str(dev.source ?? dev.path ?? "") : str(dev);
            this.device(`${where}.${i}`, source); // always: init/config.yaml promises raw disks and memory are never mapped
          }
          break;
        case "build":
          this.build(where, value);
          break;
        case "dockerfile":
          this.packagePath(where, str(value));
          break;
        case "env_file":
        case "label_file":
          for (const [i, f] of list(value).entries()) this.packagePath(`${where}.${i}`, isRecord(f) ? str(f.path) : str(f));
          break;
        case "extends":
          if (isRecord(value) && value.file !== undefined) this.packagePath(`${where}.file`, str(value.file));
          break;
        default:
          this.deny(where, `"${key}" is not a service key the device's compose policy knows, so it is refused`);
      }
    }
  }

  private serviceVolume(where: string, vol: unknown): void {
    if (typeof vol === "string") {
      const colon = vol.indexOf(":");
      if (colon < 0) return; // an anonymous volume: a container path only
      const source = vol.slice(0, colon);
      if (looksLikePath(source)) this.hostPath(where, source);
      return;
    }
    if (!isRecord(vol)) return;
    const type = vol.type === undefined ? undefined : str(vol.type);
    const source = vol.source === undefined || vol.source === null ? "" : str(vol.source);
    if (type === "bind" || (type === undefined && looksLikePath(source))) this.hostPath(where, source);
    else if (type === "npipe") this.deny(where, "named pipes of the host are not allowed");
  }

  private build(where: string, value: unknown): void {
    const p = this.policy;
    const b = isRecord(value) ? value : { context: value };
    const context = b.context === undefined || b.context === null ? "." : str(b.context);
    if (isUrl(context)) this.deny(`${where}.context`, `building from ${context} is not allowed: an image may be built only from the package's own files`);
    const contextDir = this.packagePath(`${where}.context`, context);
    if (b.dockerfile !== undefined && b.dockerfile !== null) {
      const df = str(b.dockerfile);
      this.packagePath(`${where}.dockerfile`, isAbsolute(df) ? df : join(contextDir, df));
    }
    for (const [name, ctx] of entries(b.additional_contexts)) {
      const c = str(ctx);
      if (/^(docker-image|service|target|oci-layout):/.test(c)) continue;
      if (isUrl(c)) this.deny(`${where}.additional_contexts.${name}`, `building from ${c} is not allowed`);
      this.packagePath(`${where}.additional_contexts.${name}`, c);
    }
    if (list(b.ssh).length || (isRecord(b.ssh) && Object.keys(b.ssh).length)) this.deny(`${where}.ssh`, "forwarding the host's SSH agent or keys into a build is not allowed");
    if (b.network !== undefined && b.network !== null && str(b.network) === "host" && !p.allowHostNamespaces) this.deny(`${where}.network`, "building on the host's network is not allowed (policy.allowHostNamespaces: false)");
    if (truthy(b.privileged) && !p.allowPrivileged) this.deny(`${where}.privileged`, "privileged builds are not allowed (policy.allowPrivileged: false)");
    if (list(b.entitlements).length && !p.allowPrivileged) this.deny(`${where}.entitlements`, "build entitlements are not allowed (policy.allowPrivileged: false)");
  }

  private network(where: string, net: unknown): void {
    if (!isRecord(net) || this.policy.allowHostNamespaces) return;
    if (net.driver === "host" || net.name === "host") this.deny(where, "the host's network is not allowed (policy.allowHostNamespaces: false)");
  }

  private volume(where: string, vol: unknown): void {
    // A named volume can be a bind in disguise (driver_opts with o: bind and a device path).
    const device = isRecord(vol) && isRecord(vol.driver_opts) ? vol.driver_opts.device : undefined;
    if (device !== undefined && device !== null && looksLikePath(str(device))) this.hostPath(`${where}.driver_opts.device`, str(device));
  }

  /** A host path a mount, secret or config reads: inside the package, or below an allowed bind path. */
  private hostPath(where: string, source: string): void {
    if (source.startsWith("~")) this.deny(where, `${source}: home-relative host paths are not allowed`);
    const abs = isAbsolute(source) ? normalize(source) : resolve(this.ctx.projectDir, source);
    const real = this.host.realpath(abs);
    if (within(real, [this.packageRoot]) || within(real, this.bindRoots)) return;
    const shown = real === abs ? abs : `${abs} (${real} after following symlinks)`;
    this.deny(where, `host path ${shown} is not allowed (policy.allowedBindPaths: ${this.policy.allowedBindPaths.length ? this.policy.allowedBindPaths.join(", ") : "none"}; the package's own directory always is)`);
  }

  /** A file or directory compose or the engine reads at the package's request: only the package's own. Returns the resolved path. */
  private packagePath(where: string, path: string): string {
    if (path.startsWith("~")) this.deny(where, `${path}: home-relative host paths are not allowed`);
    const abs = isAbsolute(path) ? normalize(path) : resolve(this.ctx.projectDir, path);
    const real = this.host.realpath(abs);
    if (!within(real, [this.packageRoot])) this.deny(where, `${real} is outside the package; only the package's own files may be used here`);
    return abs;
  }

  private device(where: string, source: string): void {
    if (!isAbsolute(source)) {
      if (CDI_DEVICE.test(source)) return;
      this.deny(where, `device ${JSON.stringify(source)} is neither a path under /dev nor a CDI device name`);
    }
    const lexical = normalize(source);
    const real = this.host.realpath(lexical);
    const shown = real === lexical ? lexical : `${lexical} (${real} after following symlinks)`;
    if (real !== "/dev" && !real.startsWith("/dev/")) this.deny(where, `device ${shown} is not under /dev`);
    const kind = this.host.kind(real);
    if (kind === "missing") {
      for (const p of [lexical, real]) {
        const name = p.startsWith("/dev/") ? p.slice(5) : "";
        if (BLOCK_DEVICE_NAME.test(name) || DENIED_CHAR_DEVICE.test(name)) this.deny(where, `device ${shown} (a raw disk, memory, console or other host-owning device) is not allowed`);
      }
      return;
    }
    const denied = this.deniedDevice(real, kind, { left: 2000 }, 0);
    if (denied) this.deny(where, `device ${shown}${denied === real ? "" : ` holds ${denied}`}: raw disks, memory, consoles and other host-owning devices are not allowed`);
  }

  /** The first device at or below `path` that the policy refuses, or null. */
  private deniedDevice(path: string, kind: HostPathKind, budget: { left: number }, depth: number): string | null {
    if (--budget.left < 0 || depth > 6) return path;
    const name = path.slice(5);
    if (kind === "block") return path;
    if (kind === "char") return DENIED_CHAR_DEVICE.test(name) ? path : null;
    if (kind === "dir") {
      if (DENIED_CHAR_DEVICE.test(name)) return path;
      for (const entry of this.host.list(path)) {
        const child = this.host.realpath(join(path, entry));
        if (!child.startsWith("/dev/")) continue; // a link out of /dev (fd, stdin, …) maps nothing of the host's devices
        const hit = this.deniedDevice(child, this.host.kind(child), budget, depth + 1);
        if (hit) return hit;
      }
      return null;
    }
    return kind === "missing" ? null : path;
  }
}

function within(path: string, roots: readonly string[]): boolean {
  const p = normalize(path);
  return roots.some((r) => {
    const root = normalize(r).replace(/\/+$/, "");
    return p === root || p.startsWith(root + sep) || root === "";
  });
}

function looksLikePath(s: string): boolean {
  return s.startsWith("/") || s.startsWith(".") || s.startsWith("~");
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^git@/.test(s) || /^github\.com\//.test(s);
}

/** Anything but absent, false, or a false-like string. Compose itself would refuse most others; the policy never reads them as "no". */
function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (typeof v === "string") return !["", "false", "no", "n", "off", "0"].includes(v.trim().toLowerCase());
  return v !== 0;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v) ?? "";
}

function list(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function entries(v: unknown): [string, unknown][] {
  return isRecord(v) ? Object.entries(v) : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
