import { join } from "node:path";
import { bunPlatform } from "../../src/adapter/bun/index.ts";
import { createPodmanRuntime } from "../../runtimes/podman/index.ts";
import { engineStatus } from "../support/engines.ts";
import { runtimeContract } from "./runtime-contract.ts";

runtimeContract({
  title: "podman",
  engine: await engineStatus("podman"),
  make: (root) => createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run"), idleSeconds: 30, pollMs: 250 }),
});
