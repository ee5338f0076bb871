/**
 * Issue 17 item 1: polls, artifact fetches and reports to one WFM share
 * kept-alive connections. A real TLS WFM on loopback (node:https, which tells
 * each new TLS connection apart) counts the connections it accepts while a real
 * Agent sends 200 reports and 200 polls. Each opening its own connection (a full
 * TLS handshake per request, on both sides) fails the test.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { lifecycleChange } from "./lifecycle-change.ts";
import { drained, makeAgent } from "../../support/agent-harness.ts";
import { tempDir } from "../api/agent-fixture.ts";

const openssl = Bun.which("openssl");
const dir = tempDir("margo-reuse-");
let server: Server;
let url = "";
let caFile = "";
let connections = 0;
const requests = { manifest: 0, status: 0 };

beforeAll(async () => {
  if (!openssl) throw new Error("openssl is needed to make the WFM's certificate");
  const key = join(dir.dir, "key.pem");
  caFile = join(dir.dir, "cert.pem");
  const made = Bun.spawnSync([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", caFile, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(made.stderr.toString());
  server = createServer({ key: readFileSync(key), cert: readFileSync(caFile), keepAliveTimeout: 30_000 }, (req, res) => {
    const path = req.url ?? "";
    req.resume();
    req.on("end", () => {
      if (req.method === "GET" && path.endsWith("/deployments")) {
        requests.manifest++;
        res.writeHead(304, { etag: '"sha256:x"' }).end();
      } else if (req.method === "POST" && path.endsWith("/status")) {
        requests.status++;
        // What real WFMs answer: a small acknowledgement, streamed (chunked), as web frameworks do.
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"acknowledgement":');
        setTimeout(() => res.end('"received"}'), 5);
      } else res.writeHead(404).end();
    });
  });
  server.on("secureConnection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  url = `https://127.0.0.1:${address.port}`;
});
afterAll(() => {
  server?.close();
  dir.remove();
});

test("200 reports and 200 polls to a TLS WFM open a handful of connections, not hundreds", async () => {
  const h = makeAgent({ wfmUrl: url, sets: [`wfm.caFile=${caFile}`, "wfm.allowInsecureHttp=false"] });
  h.agent.store.commitManifest(1n, '"sha256:x"');
  for (let i = 0; i < 200; i++) h.agent.store.apply(lifecycleChange(`dep-${i % 20}`, i));
  await drained(h.agent, 60_000);
  for (let i = 0; i < 200; i++) expect((await h.agent.sync.poll(new AbortController().signal)).outcome).toBe("not-modified");
  expect(requests).toEqual({ manifest: 200, status: 200 });
  // Reports go out up to 32 at a time (one per deployment in flight), so a few parallel connections are right.
  expect(connections).toBeLessThanOrEqual(40);
  console.log(`connections accepted for 200 reports + 200 polls: ${connections}`);
  await h.agent.stop();
}, 120_000);
