import { bunPlatform } from "../../src/platform/bun/index.ts";
import { createComposeRuntime } from "../../runtimes/compose/index.ts";
import { defaultBaseEnv } from "../../runtimes/shared/compose-adapter.ts";
import { engineStatus } from "../support/engines.ts";
import { runtimeContract } from "./runtime-contract.ts";

runtimeContract({
  title: "compose (Docker Engine)",
  engine: await engineStatus("docker"),
  make: () => createComposeRuntime({ platform: bunPlatform, pollMs: 250 }),
  broken: {
    notFound: () => createComposeRuntime({ platform: bunPlatform, baseEnv: { ...defaultBaseEnv(), PATH: "/nonexistent" } }),
    unreachable: (root) => createComposeRuntime({ platform: bunPlatform, baseEnv: { ...defaultBaseEnv(), DOCKER_HOST: `unix://${root}/no-docker.sock` } }),
  },
});
