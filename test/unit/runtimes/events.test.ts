import { describe, expect, test } from "bun:test";
import { dockerSocketPath, follow, type LineStream, parseEventLine } from "../../../runtimes/shared/events.ts";

const ours = { "org.margo.managed-by": "margo-agent", "org.margo.deployment-id": "dep-1", "org.margo.component": "web" };
// As Docker 20.10 and Podman 4.3 print them (trimmed).
const docker = (action: string, attrs: Record<string, string> = ours) =>
  JSON.stringify({ status: action, id: "c1", Type: "container", Action: action, Actor: { ID: "c1", Attributes: { image: "busybox", name: "x", ...attrs } }, scope: "local", time: 1 });
const podman = (status: string, attrs: Record<string, string> = ours) => JSON.stringify({ ID: "c2", Image: "busybox", Name: "x", Status: status, Time: "2026-12-01T10:10:29Z", Type: "container", Attributes: attrs });

describe("event lines", () => {
  test("Docker's and Podman's drift actions, with the deployment from the labels", () => {
    expect(["die", "stop", "kill", "destroy"].map((a) => parseEventLine(docker(a))?.action)).toEqual(["die", "stop", "kill", "remove"]);
    expect(["died", "stop", "kill", "remove"].map((a) => parseEventLine(podman(a))?.action)).toEqual(["die", "stop", "kill", "remove"]);
    expect(parseEventLine(docker("die"))).toEqual({ action: "die", containerId: "c1", deploymentId: "dep-1", component: "web" });
    expect(parseEventLine(podman("died"))).toEqual({ action: "die", containerId: "c2", deploymentId: "dep-1", component: "web" });
  });

  test("anything else is no drift: other actions, containers not ours, other objects, garbage", () => {
    expect(parseEventLine(docker("start"))).toBeUndefined();
    expect(parseEventLine(podman("cleanup"))).toBeUndefined();
    expect(parseEventLine(docker("die", { "org.margo.managed-by": "someone-else" }))).toBeUndefined();
    expect(parseEventLine(podman("remove", {}))).toBeUndefined();
    expect(parseEventLine(JSON.stringify({ Type: "network", Action: "destroy", Actor: { ID: "n", Attributes: ours } }))).toBeUndefined();
    expect(parseEventLine("not json")).toBeUndefined();
    expect(parseEventLine("null")).toBeUndefined();
  });

  test("Docker's socket: DOCKER_HOST unix:// or the default; the CLI for anything remote", () => {
    expect(dockerSocketPath({})).toBe("/var/run/docker.sock");
    expect(dockerSocketPath({ DOCKER_HOST: "unix:///run/user/0/docker.sock" })).toBe("/run/user/0/docker.sock");
    expect(dockerSocketPath({ DOCKER_HOST: "tcp://10.0.0.1:2376" })).toBeUndefined();
    expect(dockerSocketPath({ DOCKER_CONTEXT: "edge" })).toBeUndefined();
  });
});

describe("follow", () => {
  test("reconnects after a failure and after an end, reporting each drop, until aborted", async () => {
    let connects = 0;
    const stream: LineStream = async function* (_signal, onUp) {
      connects++;
      onUp();
      yield docker("die");
      if (connects === 1) throw new Error("engine went away");
    };
    const stop = new AbortController();
    const statuses: string[] = [];
    const events: string[] = [];
    const done = follow(stream, { onEvent: (e) => events.push(e.action), onStatus: (up, why) => { statuses.push(up ? "up" : `down: ${why}`); if (connects >= 3) stop.abort(); } }, stop.signal, { backoffMs: 1, maxBackoffMs: 2 });
    await done;
    expect(statuses.slice(0, 4)).toEqual(["up", "down: engine went away", "up", "down: the event stream ended"]);
    expect(events.length).toBeGreaterThanOrEqual(2);
  });
});
