/**
 * The AgentError a promise rejects with, for tests of refusals: fails the test
 * when the promise resolves, or rejects with anything but an AgentError (or
 * with another code than `code`, when given).
 */
import { expect } from "bun:test";
import { AgentError } from "../../src/errors/index.ts";

export async function agentErrorOf(p: Promise<unknown>, code?: string): Promise<AgentError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    if (code !== undefined) expect(err.code).toBe(code as AgentError["code"]);
    return err;
  }
  throw new Error(`expected an AgentError${code ? ` ${code}` : ""}, but nothing was thrown`);
}
