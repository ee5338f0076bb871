/**
 * Trust on first use over real TLS: the WFM's certificate is signed by nothing the
 * system store knows, so an ordinary request fails; the one CA download accepts it,
 * and from then on requests verify against the kept CA. The server certificate is
 * made with the openssl CLI (our own generator makes client certificates only).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { ensureTrustedCa } from "../../../src/onboarding/index.ts";
import { captureLog, removeTempDirs, tempDir, testConfig } from "../../unit/identity-integration/helpers.ts";

afterAll(removeTempDirs);

const openssl = Bun.which("openssl");

describe.skipIf(!openssl)("trust on first use over TLS", () => {
  test("the download accepts an unknown server certificate once; later requests verify against the kept CA", async () => {
    const dir = tempDir("margo-tls-");
    const key = join(dir, "key.pem");
    const crt = join(dir, "cert.pem");
    const made = Bun.spawnSync([openssl!, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
    expect(made.exitCode).toBe(0);
    const cert = readFileSync(crt, "utf8");
    let caDownloads = 0;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert, key: readFileSync(key, "utf8") },
      fetch: (req) => {
        if (new URL(req.url).pathname === "/api/v1/onboarding/certificate") {
          caDownloads++;
          return Response.json({ certificate: Buffer.from(cert).toString("base64") });
        }
        return new Response("ok");
      },
    });
    try {
      const url = `https://127.0.0.1:${server.port}`;
      await expect(bunPlatform.fetch(`${url}/x`, {})).rejects.toThrow();
      const { log, lines } = captureLog();
      const config = testConfig([`wfm.url=${url}`, `dataDir=${join(dir, "data")}`, "wfm.trustOnFirstUse=true"]);
      const file = await ensureTrustedCa({ config, platform: bunPlatform, log });
      expect(file).toBe(join(config.dataDir, "wfm-root-ca.pem"));
      expect(lines().some((l) => l.level === "warn")).toBe(true);
      const res = await bunPlatform.fetch(`${url}/x`, {}, { ca: readFileSync(file!, "utf8") });
      expect(res.status).toBe(200);
      expect(await ensureTrustedCa({ config, platform: bunPlatform, log })).toBe(file);
      expect(caDownloads).toBe(1);
    } finally {
      await server.stop(true);
    }
  }, 20_000);
});
