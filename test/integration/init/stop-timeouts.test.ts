/**
 * Issue 16 item 2: the agent stops within 10 s of SIGTERM, its children
 * included (test/integration/field/stop-children.test.ts); the three service
 * managers must wait the same time before SIGKILL, longer than that.
 * The SysV and OpenRC scripts once would have killed an agent still waiting
 * for Podman's API service, while systemd waited longer still.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../../..");
const read = (p: string) => readFileSync(join(root, p), "utf8");
const AGENT_STOPS_WITHIN_S = 10;

test("systemd, OpenRC and SysV wait the same time before SIGKILL, more than the agent needs", () => {
  const systemd = Number(/^TimeoutStopSec=(\d+)s$/m.exec(read("init/margo-agent.service"))?.[1]);
  const openrc = Number(/^retry="TERM\/(\d+)\/KILL\/\d+"$/m.exec(read("init/openrc/margo-agent"))?.[1]);
  const sysv = Number(/^STOP_TIMEOUT=(\d+)$/m.exec(read("init/sysv/margo-agent"))?.[1]);
  expect([systemd, openrc, sysv]).toEqual([systemd, systemd, systemd]);
  expect(systemd).toBeGreaterThan(AGENT_STOPS_WITHIN_S);
  // SIGTERM to the agent alone: it stops its own children in order.
  expect(read("init/margo-agent.service")).toMatch(/^KillMode=mixed$/m);
});

test("the init files and their guide never send hardware makers to podman-compose", () => {
  for (const f of ["init/README.md", "init/margo-agent.service", "init/Containerfile", "init/install.sh"]) {
    expect(read(f).replace(/`podman-compose` is not used|not podman-compose|podman-compose, with measurements/g, "")).not.toContain("podman-compose");
  }
});
