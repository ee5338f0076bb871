/**
 * Issue 16 items 12 and 13 on real engines (Podman, Docker): `margo-agent logs` shows
 * a deployment's container output without the engineer knowing project or
 * container names (one component, or all of them prefixed), the same through
 * the local API (token-gated), `--follow` streams in a real terminal (tmux)
 * until Ctrl-C, which leaves no `podman logs`/`docker logs` behind; `margo-agent restart`
 * restarts the containers in place.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { describeWithEngine, engineStatus } from "../../support/engines.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";
import { Terminal, tmuxTool } from "../../support/tmux.ts";
import { describeRequiring } from "../build/requirement.ts";
import { cli, deploymentYaml, type Field, processesWith, ROOT, startAgent, startField, stopField, waitForState, writePackage } from "./harness.ts";

const TOKEN = "logs-token-0123456789abc";
const engines = { podman: await engineStatus("podman"), docker: await engineStatus("docker") };

describeRequiring(tmuxTool, "logs and restart in a terminal", () => {
  for (const engine of ["podman", "docker"] as const) describeWithEngine(engines[engine], `logs and restart on ${engine}`, () => {
    const id = `logs-${engine}-${process.pid}`;
    const cliName = cliOf(engine);
    const containerOf = async (component: string): Promise<string> =>
      (await bunPlatform.run([cliName, "ps", "-q", "--filter", `label=org.margo.deployment-id=${id}`, "--filter", `label=org.margo.component=${component}`])).stdout.trim();
    let f: Field;
    let term: Terminal | undefined;
    beforeAll(async () => {
      await ensureTestImage(engine);
      f = await startField({ runtime: engine === "podman" ? "podman" : "compose", token: TOKEN });
      writePackage(f, "app", TEST_IMAGE, 'i=0; while true; i=$((i+1)); do echo "line $i"; sleep 1; done');
      writePackage(f, "side", TEST_IMAGE, 'echo "side says hello on stderr" >&2; exec sleep 3600');
      writeFileSync(join(f.wfmDir, "logs.yaml"), deploymentYaml(id, { components: ["app", "side"] }));
      startAgent(f);
      await waitForState(f, id, "installed", 120_000);
    }, 180_000);
    afterAll(async () => {
      term?.close();
      const left = (await bunPlatform.run([cliName, "ps", "-aq", "--filter", `label=org.margo.deployment-id=${id}`])).stdout.split("\n").filter(Boolean);
      if (left.length) await bunPlatform.run([cliName, "rm", "-f", ...left]);
      const nets = (await bunPlatform.run([cliName, "network", "ls", "-q", "--filter", `label=org.margo.deployment-id=${id}`])).stdout.split("\n").filter(Boolean);
      if (nets.length) await bunPlatform.run([cliName, "network", "rm", ...nets]);
      await stopField(f);
    }, 120_000);

    test("logs of one component, with --tail, by a prefix of the deployment id", async () => {
      // Let the app print a few lines first.
      for (let i = 0; i < 100 && !(await cli(f, "logs", id, "app")).stdout.includes("line 3"); i++) await Bun.sleep(200);
      const r = await cli(f, "logs", id.slice(0, 8), "app", "--tail", "2");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).toMatch(/^line \d+$/);
    }, 60_000);

    test("logs of the whole deployment: every container, stdout and stderr, each line prefixed", async () => {
      const r = await cli(f, "logs", id);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^app\/app \| line 1$/m);
      expect(r.stdout).toMatch(/^side\/side \| side says hello on stderr$/m);
    }, 30_000);

    test("the API serves the same text, only with the token", async () => {
      const url = `http://localhost/v1/deployments/${id}/logs?component=side`;
      expect((await fetch(url, { unix: f.socket } as RequestInit)).status).toBe(401);
      const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` }, unix: f.socket } as RequestInit);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/plain");
      expect(await res.text()).toBe("side says hello on stderr\n");
      const none = await fetch(`http://localhost/v1/deployments/${id}/logs?component=db`, { headers: { authorization: `Bearer ${TOKEN}` }, unix: f.socket } as RequestInit);
      expect(none.status).toBe(404);
    }, 30_000);

    test("logs --follow streams new lines in a terminal until Ctrl-C, and leaves no engine log process running", async () => {
      const container = await containerOf("app");
      term = new Terminal([process.execPath, "src/cli.ts", "logs", id, "app", "--follow", "--tail", "1", "--config", f.config], { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: f.root }, width: 100, height: 20 });
      const first = Number(/line (\d+)/.exec(await term.waitFor(/line \d+/, 30_000))![1]);
      // New output arrives while the command runs: a later line than the first one shown.
      await term.waitFor(new RegExp(`line ${first + 2}\\b`), 30_000);
      const following = processesWith(`logs --follow`).filter((p) => processesWith(container).includes(p));
      expect(following.length).toBe(1);
      term.send("C-c");
      await term.waitForExit(10_000);
      // The agent ends the engine's log process when the stream's reader goes away.
      const deadline = Date.now() + 10_000;
      while (processesWith(`logs --follow`).some((p) => processesWith(container).includes(p))) {
        if (Date.now() > deadline) throw new Error(`${cliName} logs --follow still runs after the client left`);
        await Bun.sleep(100);
      }
      term.close();
      term = undefined;
    }, 90_000);

    test("restart restarts the component's container in place", async () => {
      const container = await containerOf("app");
      const startedAt = async () => (await bunPlatform.run([cliName, "inspect", "--format", "{{.State.StartedAt}}", container])).stdout.trim();
      const before = await startedAt();
      const r = await cli(f, "restart", id, "app");
      expect(r.stdout).toContain(`${id}/app restarted: installed`);
      expect(r.code).toBe(0);
      expect(await containerOf("app")).toBe(container);
      expect(await startedAt()).not.toBe(before);
    }, 60_000);
  });
});
