/**
 * Rules that involve more than one key. They belong to the configuration, not
 * to the command that happens to use it: `config check` must refuse exactly what
 * `run` refuses, so both get them from loadConfig.
 */
import { isLoopbackHost as isLoopbackListenHost } from "../util/loopback.ts";
import { isLoopbackHost as isLoopbackUrlHost } from "../protocol/urls.ts";
import { readListen } from "./listen.ts";
import type { Config } from "./schema.ts";
import { gitKeyProblems } from "./git-rules.ts";

export interface RuleProblem {
  /** The key the operator should change (the message names the other ones involved). */
  key: string;
  value: unknown;
  message: string;
}

export function crossKeyProblems(config: Config): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const wfm = new URL(config.wfm.url);
  if (wfm.protocol === "http:") {
    if (!config.wfm.allowInsecureHttp) {
      problems.push({ key: "wfm.url", value: config.wfm.url, message: "plain http is refused; use https, or for a loopback development WFM set wfm.allowInsecureHttp: true" });
    } else if (!isLoopbackUrlHost(wfm.hostname)) {
      problems.push({ key: "wfm.url", value: config.wfm.url, message: "plain http is refused towards a WFM that is not on loopback (wfm.allowInsecureHttp allows it only for 127.0.0.1, [::1] and localhost); use https" });
    }
  }
  problems.push(...profileKeyProblems(config));
  if (config.api.enabled && config.api.token === null) {
    const target = readListen(config.api.listen);
    if (!("problem" in target) && target.kind === "tcp" && !isLoopbackListenHost(target.hostname)) {
      problems.push({
        key: "api.listen",
        value: config.api.listen,
        message:
          "is not a loopback address, so api.token must be set (at least 16 characters); " +
          "or listen on 127.0.0.1 or a unix socket, or set api.enabled=false",
      });
    }
  }
  problems.push(...gitKeyProblems(config));
  return problems;
}

/**
 * Keys that belong to one profile only (docs/protocol.md, "Profiles"). Only
 * keys set to something are judged here; what rc3 needs to start (an SVID, a
 * trust source, https) is checked with the files (src/config/files.ts).
 */
function profileKeyProblems(config: Config): RuleProblem[] {
  const { wfm } = config;
  const problems: RuleProblem[] = [];
  if (wfm.profile === "v1") {
    if (wfm.trustDiscovery !== null) {
      problems.push({ key: "wfm.trustDiscovery", value: wfm.trustDiscovery, message: "is a wfm.profile rc3 setting (the v1 profile verifies the WFM with wfm.caFile or the system store)" });
    }
  } else {
    if (wfm.trustOnFirstUse) {
      problems.push({ key: "wfm.trustOnFirstUse", value: true, message: "is not allowed with wfm.profile rc3: rc3 has no trust on first use; provision wfm.caFile or set wfm.trustDiscovery" });
    }
    if (wfm.caFile !== null && wfm.trustDiscovery !== null) {
      problems.push({
        key: "wfm.trustDiscovery",
        value: wfm.trustDiscovery,
        message: "and wfm.caFile are both set: give one trust source (wfm.caFile is a fixed bundle, wfm.trustDiscovery one that is fetched and refreshed)",
      });
    }
  }
  if (wfm.trustDiscoveryCaFile !== null && wfm.trustDiscovery === null) {
    problems.push({ key: "wfm.trustDiscoveryCaFile", value: wfm.trustDiscoveryCaFile, message: "is only used with wfm.trustDiscovery (it verifies the MIS's HTTPS certificate)" });
  }
  return problems;
}
