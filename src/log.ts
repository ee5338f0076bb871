/**
 * Structured logs: pino JSON, one event per line, on stdout. Events about a
 * deployment carry `deploymentId`; errors carry `code` (see errors/codes.ts).
 */
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string, destination: NodeJS.WritableStream | number = 1): Logger {
  return pino(
    {
      level,
      base: { svc: "margo-agent" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Key material must never reach a log line, whatever a caller passes in.
      redact: { paths: ["key", "privateKey", "token", "*.token", "*.privateKey", "headers.authorization", "authorization"], censor: "[redacted]" },
    },
    typeof destination === "number" ? pino.destination({ fd: destination, sync: true }) : destination,
  );
}

export const silentLogger: Logger = pino({ level: "silent" });
