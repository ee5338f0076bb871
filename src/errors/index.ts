export { AgentError, asAgentError } from "./agent-error.ts";
export { ERROR_CODES, type ErrorCode } from "./codes.ts";
