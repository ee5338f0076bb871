/**
 * A hostile WFM for the bounded-body tests: a real HTTP server whose answers
 * (errors and acknowledgements alike) come with a body that does not end. Each
 * body is produced on demand (pull), so it costs the server nothing once the
 * client stops reading, and it is capped only so that an agent that does read
 * it all (the bug under test) fails the test instead of the machine.
 */
import { readFileSync } from "node:fs";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";

export const CLIENT_PATH = "/api/v1/clients/test-device";
/** Per body: far above any bound the agent may have, far below what would hurt the test machine. */
export const ENDLESS_CAP_BYTES = 512 * 1024 * 1024;

const CHUNK = new Uint8Array(64 * 1024).fill(0x61); // "aaaa…": valid text, so a text() reader keeps all of it

/** A body that goes on until the reader cancels (or the cap is reached). Counts what it sent. */
export function endlessBody(sent: { bytes: number }): ReadableStream<Uint8Array> {
  let total = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (total >= ENDLESS_CAP_BYTES) {
          controller.close();
          return;
        }
        total += CHUNK.byteLength;
        sent.bytes += CHUNK.byteLength;
        controller.enqueue(CHUNK);
      },
    },
    { highWaterMark: 0 },
  );
}

export interface EndlessWfm {
  url: string;
  /** Status codes answered to each manifest GET after the first (200) one, in rotation. */
  manifestErrors: number[];
  /** Status codes answered to each report POST, in rotation; 2xx ones have an endless body too. */
  reportAnswers: number[];
  counts: { manifestOk: number; manifestErrors: Record<number, number>; reports: Record<number, number> };
  sent: { bytes: number };
  stop(): void;
}

/** One deployment whose package 404s (with an endless body too): it fails, and every attempt is reported. */
export function startEndlessWfm(): EndlessWfm {
  const sent = { bytes: 0 };
  const counts: EndlessWfm["counts"] = { manifestOk: 0, manifestErrors: {}, reports: {} };
  let manifestN = 0;
  let reportN = 0;
  let bundle: Uint8Array | undefined;
  const wfm: EndlessWfm = {
    url: "",
    manifestErrors: [503, 401, 403],
    reportAnswers: [503, 403, 404],
    counts,
    sent,
    stop: () => void server.stop(true),
  };
  const yaml = () => `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations: {id: dep-endless, applicationId: demo}
  name: app-endless
spec:
  deploymentProfile:
    type: compose
    components:
      - name: web
        properties: {packageLocation: "${wfm.url}/pkg/missing.yaml", timeout: 30s}
`;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === `${CLIENT_PATH}/deployments` && req.method === "GET") {
        if (manifestN++ === 0) {
          counts.manifestOk++;
          const body = yaml();
          const digest = sha256Digest(body);
          bundle = writeTarGz([{ path: "dep-endless.yaml", data: new TextEncoder().encode(body) }]);
          const manifest = {
            manifestVersion: 1,
            bundle: { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest: sha256Digest(bundle), url: `${CLIENT_PATH}/bundles/${sha256Digest(bundle)}` },
            deployments: [{ deploymentId: "dep-endless", digest, url: `${CLIENT_PATH}/deployments/dep-endless/${digest}` }],
          };
          return new Response(JSON.stringify(manifest), { headers: { "content-type": "application/vnd.margo.manifest.v1+json", etag: `"${digest}"` } });
        }
        const status = wfm.manifestErrors[(manifestN - 2) % wfm.manifestErrors.length]!;
        counts.manifestErrors[status] = (counts.manifestErrors[status] ?? 0) + 1;
        return new Response(endlessBody(sent), { status, headers: { "content-type": "text/plain" } });
      }
      if (path.startsWith(`${CLIENT_PATH}/bundles/sha256:`) && bundle) return new Response(bundle, { headers: { "content-type": "application/vnd.margo.bundle.v1+tar+gzip" } });
      if (path.startsWith(`${CLIENT_PATH}/deployments/dep-endless/sha256:`)) return new Response(yaml(), { headers: { "content-type": "application/yaml" } });
      if (path === `${CLIENT_PATH}/deployments/dep-endless/status` && req.method === "POST") {
        await req.arrayBuffer();
        const status = wfm.reportAnswers[reportN++ % wfm.reportAnswers.length]!;
        counts.reports[status] = (counts.reports[status] ?? 0) + 1;
        return new Response(endlessBody(sent), { status, headers: { "content-type": "application/problem+json" } });
      }
      return new Response(endlessBody(sent), { status: 404, headers: { "content-type": "text/plain" } });
    },
  });
  wfm.url = `http://127.0.0.1:${server.port}`;
  return wfm;
}

/** Peak resident set of a process, from /proc (Linux), in bytes. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}
