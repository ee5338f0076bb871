/**
 * Turning a compose tool's exit status and stderr into a stable error code and a
 * message a field engineer can act on. The patterns cover docker-compose v1,
 * Docker Compose v2 and the Podman API as seen through either.
 */
import type { ProcessResult } from "../../src/platform/types.ts";
import type { ErrorCode } from "../../src/errors/codes.ts";
import { AgentError } from "../../src/errors/index.ts";

const UNREACHABLE = [
  /couldn't connect to docker daemon/i,
  /cannot connect to the docker daemon/i,
  /is the docker daemon running/i,
  /error while fetching server api version/i,
  /connect: no such file or directory/i,
  /connection refused.*\.sock/i,
  /unable to connect to podman/i,
];

const IMAGE_MISSING = [
  /no such image/i,
  /pull access denied/i,
  /manifest unknown/i,
  /repository does not exist/i,
  /image not known/i,
  /failed to resolve reference/i,
  /not found: manifest/i,
  /error pulling image/i,
  /initializing source docker:\/\//i,
  /trying to pull .*: .*(refused|not found|unauthorized)/i,
  /(pulling|pull) .*(connection refused|no such host|not found)/i,
  /image .* (not found|does not exist)/i,
  /\/v2\/.*(dial tcp|connection refused|no such host|i\/o timeout)/i,
  // docker-compose v1 prints "Pulling svc (image)..." then the registry's error on the next line.
  /^Pulling \S+ \(.+\)\.\.\.\s*\n.*(error|refused|denied|not found|unknown)/im,
];

const COMPOSE_BAD = [
  /is invalid because/i,
  /the compose file .* is invalid/i,
  /unsupported config option/i,
  /additional properties are not allowed/i,
  /yaml: /i,
  /while (parsing|scanning) /i,
  /top-level object must be a mapping/i,
  /has neither an image nor a build context/i,
  /invalid interpolation format/i,
  /service ".*" (refers to undefined|depends on undefined)/i,
  /validating .*: /i,
  /version in ".*" is unsupported/i,
];

/** The last few non-empty stderr lines, for quoting in messages. */
export function lastLines(text: string, n = 4): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(" | ");
}

export function classifyFailure(stderr: string, fallback: ErrorCode): ErrorCode {
  if (UNREACHABLE.some((r) => r.test(stderr))) return "ENGINE_UNREACHABLE";
  if (COMPOSE_BAD.some((r) => r.test(stderr))) return "COMPOSE_INVALID";
  if (IMAGE_MISSING.some((r) => r.test(stderr))) return "IMAGE_NOT_FOUND";
  return fallback;
}

const HINT: Partial<Record<ErrorCode, string>> = {
  ENGINE_NOT_FOUND: "install the container engine and compose tool, or set runtime in the agent configuration",
  ENGINE_UNREACHABLE: "start the engine (e.g. systemctl start docker) and check the agent may use its socket",
  IMAGE_NOT_FOUND: "load the image on the device or make its registry reachable",
  COMPOSE_INVALID: "fix the compose file in the application package",
};

/** An AgentError for a failed tool run: `what` says what was attempted on which component. */
export function toolFailure(result: ProcessResult, argv: string[], what: string, fallback: ErrorCode): AgentError {
  const tool = argv.slice(0, 2).join(" ");
  if (result.code === 127 && !result.stdout) {
    return new AgentError("ENGINE_NOT_FOUND", `${what}: "${argv[0]}" is not installed or not on PATH (${HINT.ENGINE_NOT_FOUND})`, { argv: argv.slice(0, 2) });
  }
  const stderr = result.stderr || result.stdout;
  const code = result.killed ? fallback : classifyFailure(stderr, fallback);
  const quoted = result.killed ? "killed after its timeout or on cancellation" : `exit ${result.code}: ${lastLines(stderr) || "(no output)"}`;
  const hint = HINT[code] ? ` — ${HINT[code]}` : "";
  return new AgentError(code, `${what}: ${tool} failed (${quoted})${hint}`, { exitCode: result.code });
}
