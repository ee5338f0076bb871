import { describe, expect, test } from "bun:test";
import { ErrorTally } from "../../../src/simulate/error-tally.ts";
import { createLogger } from "../../../src/log.ts";

describe("ErrorTally: the devices' warn and error lines by code", () => {
  test("counts codes through a real pino logger, lines split across writes, and passes them on", () => {
    const passed: string[] = [];
    const tally = new ErrorTally({ write: (t) => void passed.push(t) });
    const log = createLogger("warn", tally as unknown as NodeJS.WritableStream).child({ device: "sim-00001" });
    log.warn({ code: "WFM_UNREACHABLE" }, "poll failed");
    log.error({ code: "WFM_UNREACHABLE" }, "poll failed");
    log.error({ code: "IDENTITY_REJECTED" }, "refused");
    log.warn("a line without a code");
    log.info({ code: "NOT_COUNTED" }, "below warn");
    tally.write('{"code":"PACKAGE_INVALID"');
    tally.write("}\n");
    expect(Object.fromEntries(tally.byCode)).toEqual({ WFM_UNREACHABLE: 2, IDENTITY_REJECTED: 1, UNCODED: 1, PACKAGE_INVALID: 1 });
    expect(tally.total()).toBe(5);
    expect(passed.join("")).toContain('"device":"sim-00001"');
  });
});
