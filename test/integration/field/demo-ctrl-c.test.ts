/**
 * Issue 16 item 5: Ctrl-C in the interactive demo left the `web` and `worker`
 * containers, their networks and the temp folder behind. In a real terminal
 * (tmux), the demo runs to "Ctrl-C stops", the example is installed again, and
 * one Ctrl-C removes everything it made.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { projectName } from "../../../runtimes/shared/naming.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { describeWithEngine, engineStatus } from "../../support/engines.ts";
import { Terminal } from "../../support/tmux.ts";
import { describeRequiring } from "../build/requirement.ts";
import { tmuxTool } from "../../support/tmux.ts";
import { processesWith, ROOT } from "./harness.ts";

/** The example's containers whose compose project lives under the demo's folder. */
async function demoContainers(work: string): Promise<string[]> {
  const ids = (await bunPlatform.run(["podman", "ps", "-aq", "--filter", `label=org.margo.deployment-id=${id}`])).stdout.split("\n").filter(Boolean);
  const mine: string[] = [];
  for (const c of ids) {
    const wd = await bunPlatform.run(["podman", "inspect", "--format", '{{index .Config.Labels "com.docker.compose.project.working_dir"}}', c]);
    if (wd.stdout.trim().startsWith(`${work}/`)) mine.push(c);
  }
  return mine;
}

const id = /^\s+id:\s*(\S+)/m.exec(readFileSync(join(ROOT, "examples/hello/hello-world.yaml"), "utf8"))![1]!;

const podman = await engineStatus("podman");
describeRequiring(tmuxTool, "the demo in a terminal", () => {
  describeWithEngine(podman, "Ctrl-C in the interactive demo (Podman)", () => {
    let term: Terminal | undefined;
    let workDir: string | undefined;
    afterAll(async () => {
      term?.close();
      // Whatever failed: no process, container or folder of this demo stays behind.
      if (workDir) {
        for (const pid of processesWith(workDir)) process.kill(pid, "SIGKILL");
        const left = await demoContainers(workDir);
        if (left.length) await bunPlatform.run(["podman", "rm", "-f", ...left]);
        rmSync(workDir, { recursive: true, force: true });
      }
    });

    test("removes its containers, their networks and its temp folder", async () => {
      term = new Terminal([process.execPath, "scripts/demo.ts"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", MARGO_DEMO_RUNTIME: "podman" } });
      const text = await term.waitFor(/Ctrl-C stops\./, 240_000);
      const work = /logs in (\/\S+?)\/agent\.log/.exec(text)![1]!;
      workDir = work;
      const mine = () => demoContainers(work);
      // The example is back in the WFM's folder: wait until the agent has both containers up again.
      const deadline = Date.now() + 120_000;
      while ((await mine()).length < 2) {
        if (Date.now() > deadline) throw new Error(`the example was not installed again:\n${term.history().slice(-3000)}`);
        await Bun.sleep(300);
      }
      term.send("C-c");
      expect(await term.waitForExit(120_000)).toBe(0);
      expect(term.history()).toContain("cleaned up: containers, networks and the temp folder are gone");
      expect(await mine()).toEqual([]);
      for (const component of ["web", "worker"]) {
        const nets = await bunPlatform.run(["podman", "network", "ls", "-q", "--filter", `label=com.docker.compose.project=${projectName(id, component)}`]);
        expect(nets.stdout.trim()).toBe("");
      }
      expect(existsSync(work)).toBe(false);
    }, 400_000);
  });
});
