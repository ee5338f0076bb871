import { describe, expect, test } from "bun:test";
import { COMPOSE_TOOL_ARGV, UP, composeArgv, downArgs } from "../../../runtimes/shared/compose-tool.ts";
import { classifyFailure, toolFailure } from "../../../runtimes/shared/failures.ts";
import type { ErrorCode } from "../../../src/errors/codes.ts";

describe("classifyFailure", () => {
  const cases: [string, ErrorCode][] = [
    ["Couldn't connect to Docker daemon at http+docker://localhost - is it running?", "ENGINE_UNREACHABLE"],
    ["Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "ENGINE_UNREACHABLE"],
    ["Pulling ghost (localhost/margo-test/absent:1)...\nGet \"http://localhost/v2/\": dial tcp 127.0.0.1:80: connect: connection refused", "IMAGE_NOT_FOUND"],
    ["Error response from daemon: pull access denied for nope, repository does not exist", "IMAGE_NOT_FOUND"],
    ["Error: No such image: localhost/x:1", "IMAGE_NOT_FOUND"],
    ["The Compose file './c.yaml' is invalid because:\nUnsupported config option for services.odd: 'x'", "COMPOSE_INVALID"],
    ["yaml: line 4: did not find expected ',' or ']'", "COMPOSE_INVALID"],
    ["something else entirely", "COMPONENT_APPLY_FAILED"],
  ];
  for (const [stderr, code] of cases) {
    test(`${code}: ${stderr.split("\n")[0]!.slice(0, 50)}`, () => {
      expect(classifyFailure(stderr, "COMPONENT_APPLY_FAILED")).toBe(code);
    });
  }
});

describe("toolFailure", () => {
  test("a missing binary is ENGINE_NOT_FOUND naming it", () => {
    const e = toolFailure({ code: 127, stdout: "", stderr: "ENOENT", killed: false }, ["docker-compose", "up"], "applying x", "COMPONENT_APPLY_FAILED");
    expect(e.code).toBe("ENGINE_NOT_FOUND");
    expect(e.message).toContain('"docker-compose" is not installed');
  });
  test("quotes the last stderr lines", () => {
    const e = toolFailure({ code: 1, stdout: "", stderr: "a\nb\nc\nd\ne\nboom\n", killed: false }, ["docker", "compose"], "applying x", "COMPONENT_APPLY_FAILED");
    expect(e.code).toBe("COMPONENT_APPLY_FAILED");
    expect(e.message).toContain("exit 1: c | d | e | boom");
  });
});

describe("compose argv", () => {
  test("v2 is the docker CLI plugin, v1 the standalone tool; flags are the same", () => {
    expect(composeArgv({ argv: COMPOSE_TOOL_ARGV.v2 }, "p", ["a.yaml", "b.yaml"], UP)).toEqual([
      "docker", "compose", "--project-name", "p", "--file", "a.yaml", "--file", "b.yaml", "up", "--detach", "--remove-orphans",
    ]);
    expect(composeArgv({ argv: COMPOSE_TOOL_ARGV.v1 }, "p", [], downArgs(true))).toEqual([
      "docker-compose", "--project-name", "p", "down", "--remove-orphans", "--volumes",
    ]);
  });
});
