/**
 * The floor: the smallest program that does margo-agent's idle job with Bun's
 * built-ins and the design card's libraries, each used minimally. `npm run
 * bench` compiles it exactly like the agent and compares their idle memory, so
 * the agent is judged against what any Bun agent doing this job needs, not
 * against a bare `bun` that does nothing.
 *
 * The idle job, as the agent does it: a YAML configuration validated with
 * valibot; pino JSON logs on stdout; a SQLite database in WAL mode holding the
 * last ETag; a P-256 key on disk; a manifest poll every interval with
 * If-None-Match whose request is signed with ECDSA (node:crypto, on the calling
 * thread, like the agent); the answer's JSON validated with valibot; a local
 * HTTP API (hono on Bun.serve) with GET /v1/status and POST /v1/sync (which
 * polls now and answers `{ outcome }`, like the agent's).
 *
 * It sends the signature in its own header: the dev WFM serves an unsigned
 * client that never onboarded, and would refuse a keyid it does not know.
 *
 * Usage: floor CONFIG.yaml
 */
import { Database } from "bun:sqlite";
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import pino from "pino";
import * as v from "valibot";
import { parse } from "yaml";

const ConfigSchema = v.object({
  wfmUrl: v.pipe(v.string(), v.url()),
  clientId: v.pipe(v.string(), v.minLength(1)),
  dataDir: v.string(),
  apiPort: v.pipe(v.number(), v.integer()),
  pollIntervalMs: v.pipe(v.number(), v.minValue(100)),
});
const ManifestSchema = v.object({
  manifestVersion: v.union([v.number(), v.string()]),
  deployments: v.array(v.object({ deploymentId: v.string(), digest: v.string(), url: v.string() })),
});

const config = v.parse(ConfigSchema, parse(readFileSync(process.argv[2]!, "utf8")));
const log = pino({ level: "info", base: { svc: "floor" } }, pino.destination({ fd: 1, sync: true }));

mkdirSync(config.dataDir, { recursive: true });
const db = new Database(join(config.dataDir, "floor.db"), { create: true });
db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
db.exec("CREATE TABLE IF NOT EXISTS state (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
const readEtag = db.query<{ v: string }, [string]>("SELECT v FROM state WHERE k = ?");
const writeEtag = db.query("INSERT INTO state (k, v) VALUES ('etag', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v");

function loadKey(): KeyObject {
  const file = join(config.dataDir, "key.pem");
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  }
  return createPrivateKey(readFileSync(file));
}
const key = loadKey();

const url = `${config.wfmUrl.replace(/\/+$/, "")}/api/v1/clients/${config.clientId}/deployments`;
const counts: Record<string, number> = {};

async function poll(): Promise<string> {
  const created = Math.floor(Date.now() / 1000);
  const params = `("@method" "@target-uri");created=${created};keyid="floor"`;
  const base = `"@method": GET\n"@target-uri": ${url}\n"@signature-params": ${params}`;
  const signature = sign("sha256", Buffer.from(base), { key, dsaEncoding: "ieee-p1363" }).toString("base64");
  const headers: Record<string, string> = { accept: "application/vnd.margo.manifest.v1+json", "x-floor-signature": `sig1=:${signature}:` };
  const etag = readEtag.get("etag")?.v;
  if (etag) headers["if-none-match"] = etag;
  let outcome: string;
  try {
    const res = await fetch(url, { headers });
    if (res.status === 304) outcome = "not-modified";
    else if (res.ok) {
      v.parse(ManifestSchema, await res.json());
      const next = res.headers.get("etag");
      if (next) writeEtag.run(next);
      outcome = "applied";
    } else {
      await res.arrayBuffer();
      outcome = "unreachable";
    }
  } catch (err) {
    log.warn({ err: String(err) }, "poll failed");
    outcome = "unreachable";
  }
  counts[outcome] = (counts[outcome] ?? 0) + 1;
  return outcome;
}

const app = new Hono();
app.get("/v1/status", (c) => c.json({ polls: counts }));
app.post("/v1/sync", async (c) => c.json({ outcome: await poll() }));
const server = Bun.serve({ hostname: "127.0.0.1", port: config.apiPort, fetch: app.fetch });

let timer: ReturnType<typeof setTimeout> | undefined;
const loop = async () => {
  await poll();
  timer = setTimeout(loop, config.pollIntervalMs);
};
void loop();
log.info({ api: `127.0.0.1:${server.port}`, url }, "floor started");

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    clearTimeout(timer);
    void server.stop().then(() => {
      db.close();
      process.exit(0);
    });
  });
}
