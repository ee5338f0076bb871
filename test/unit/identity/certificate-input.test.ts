import { expect, test } from "bun:test";
import { certificateDer } from "../../../src/identity/certificate.ts";

test("certificateDer refuses empty and junk input instead of recursing forever", () => {
  for (const input of ["", "   ", "QUJD", "not base64!"]) expect(() => certificateDer(input)).toThrow();
});
