import { describe, expect, test } from "bun:test";
import { parseDockerPs } from "../../../runtimes/compose/docker-engine.ts";
import { parsePodmanPs } from "../../../runtimes/podman/podman-engine.ts";
import { type ContainerRow, containerState, groupObservations } from "../../../runtimes/shared/containers.ts";
import { judge } from "../../../runtimes/shared/wait.ts";

const row = (component: string, service: string, state: string, extra: Partial<ContainerRow> = {}, dep = "d1"): ContainerRow => ({
  id: `${component}-${service}`,
  state,
  labels: {
    "org.margo.deployment-id": dep,
    "org.margo.component": component,
    "org.margo.digest": "sha256:aa",
    "com.docker.compose.service": service,
  },
  ...extra,
});

describe("containerState", () => {
  test("maps engine states and health", () => {
    expect(containerState(row("c", "s", "running"))).toBe("running");
    expect(containerState(row("c", "s", "running", { health: "healthy" }))).toBe("running");
    expect(containerState(row("c", "s", "running", { health: "starting" }))).toBe("starting");
    expect(containerState(row("c", "s", "running", { health: "unhealthy" }))).toBe("unhealthy");
    expect(containerState(row("c", "s", "exited", { exitCode: 2 }))).toBe("exited");
    expect(containerState(row("c", "s", "created"))).toBe("starting");
    expect(containerState(row("c", "s", "restarting"))).toBe("starting");
  });
});

describe("groupObservations", () => {
  test("groups by deployment and component, worst container wins, unlabelled rows ignored", () => {
    const obs = groupObservations([
      row("web", "a", "running"),
      row("web", "b", "exited", { exitCode: 137 }),
      row("db", "db", "running", { health: "starting" }),
      row("x", "x", "running", {}, "d2"),
      { id: "stranger", state: "running", labels: {} },
    ]);
    expect(obs).toEqual([
      {
        deploymentId: "d1",
        components: [
          { name: "db", state: "starting", digest: "sha256:aa", detail: "db: running (starting)" },
          { name: "web", state: "exited", exitCode: 137, digest: "sha256:aa", detail: "b: exited with code 137" },
        ],
      },
      { deploymentId: "d2", components: [{ name: "x", state: "running", digest: "sha256:aa", detail: "x: running" }] },
    ]);
  });
});

describe("judge (waiting for a component)", () => {
  test("done when every started service runs (healthy when checked) or finished with 0", () => {
    expect(judge(["a", "b"], [row("c", "a", "running", { health: "healthy" }), row("c", "b", "exited", { exitCode: 0 })])).toEqual({ done: true });
  });
  test("pending while a service has no container or is still starting", () => {
    const v = judge(["a", "b"], [row("c", "a", "running", { health: "starting" })]);
    expect(v).toEqual({ done: false, pending: ["a: running (starting)", "b: no container yet"] });
  });
  test("a non-zero exit fails the wait", () => {
    const v = judge(["a"], [row("c", "a", "exited", { exitCode: 3 })]);
    expect(v.done).toBe(false);
    expect(!v.done && v.failed?.row.exitCode).toBe(3);
  });
});

describe("list parsers", () => {
  test("docker ps lines, with health and exit code from Status", () => {
    const out = [
      JSON.stringify({ id: "1", state: "running", status: "Up 3 seconds (health: starting)", labels: { "org.margo.component": "web", "org.margo.digest": "" } }),
      JSON.stringify({ id: "2", state: "exited", status: "Exited (137) 2 seconds ago", labels: {} }),
      "",
    ].join("\n");
    expect(parseDockerPs(out)).toEqual([
      { id: "1", state: "running", health: "starting", labels: { "org.margo.component": "web" } },
      { id: "2", state: "exited", exitCode: 137, labels: {} },
    ]);
  });

  test("podman ps JSON", () => {
    const out = JSON.stringify([
      { Id: "1", State: "running", Status: "Up 2 seconds ago (healthy)", ExitCode: 0, Labels: { a: "b" } },
      { Id: "2", State: "exited", Status: "Exited (3) 1 second ago", ExitCode: 3, Labels: null },
    ]);
    expect(parsePodmanPs(out)).toEqual([
      { id: "1", state: "running", health: "healthy", labels: { a: "b" } },
      { id: "2", state: "exited", exitCode: 3, labels: {} },
    ]);
    expect(parsePodmanPs("")).toEqual([]);
    expect(parsePodmanPs("[]\n")).toEqual([]);
  });
});

describe("crash loops", () => {
  test("a container restarting after a non-zero exit is seen as exited with its code, and fails a wait", () => {
    const looping = row("web", "s", "restarting", { exitCode: 3 });
    expect(containerState(looping)).toBe("exited");
    expect(groupObservations([looping])[0]!.components[0]).toMatchObject({ state: "exited", exitCode: 3 });
    expect(judge(["s"], [looping])).toMatchObject({ done: false, failed: { service: "s" } });
    expect(judge(["s"], [row("web", "s", "restarting")])).toMatchObject({ done: false, pending: ["s: crash loop: restarting after exit code unknown"] });
  });

  test("docker's Restarting (N) status carries the exit code", async () => {
    const { exitCodeFromStatus } = await import("../../../runtimes/shared/containers.ts");
    expect(exitCodeFromStatus("Restarting (3) 2 seconds ago")).toBe(3);
    expect(exitCodeFromStatus("Exited (137) 1 minute ago")).toBe(137);
    expect(exitCodeFromStatus("Up 3 seconds")).toBeUndefined();
  });
});

describe("restartedRow", () => {
  test("a running container whose start time changed has restarted", async () => {
    const { restartedRow } = await import("../../../runtimes/shared/wait.ts");
    const before = [row("web", "s", "running", { startedAt: 100 })];
    expect(restartedRow(before, [row("web", "s", "running", { startedAt: 100 })])).toBeUndefined();
    expect(restartedRow(before, [row("web", "s", "running", { startedAt: 103 })])?.startedAt).toBe(103);
    expect(restartedRow([row("web", "s", "running")], [row("web", "s", "running")])).toBeUndefined();
  });
});

describe("one-shot jobs", () => {
  test("a job that exited 0 is completed, not drifted; with a failure code it is exited", () => {
    const job = (code: number) => row("init", "migrate", "exited", { exitCode: code, labels: { "org.margo.deployment-id": "d1", "org.margo.component": "init", "com.docker.compose.service": "migrate", "org.margo.job": "true" } });
    expect(containerState(job(0))).toBe("completed");
    expect(containerState(job(1))).toBe("exited");
    expect(containerState(row("web", "s", "exited", { exitCode: 0 }))).toBe("exited"); // a daemon that stopped
  });
});
