import { join } from "node:path";
import { bunPlatform } from "../../src/platform/bun/index.ts";
import { createPodmanRuntime } from "../../runtimes/podman/index.ts";
import { engineStatus } from "../support/engines.ts";
import { runtimeContract } from "./runtime-contract.ts";

runtimeContract({
  title: "podman",
  engine: await engineStatus("podman"),
  make: (root) => createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run"), idleSeconds: 30, pollMs: 250 }),
  broken: {
    notFound: (root) => createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run-nf"), podman: "/nonexistent/podman" }),
    // The socket's directory cannot exist (its parent is a file), so the API service cannot start.
    unreachable: () => createPodmanRuntime({ platform: bunPlatform, runDir: "/etc/hostname/run" }),
  },
});
