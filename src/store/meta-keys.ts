/**
 * Every key of the store's meta table, in one place: a typo is a type error,
 * and a reader finds who writes what by name.
 */
export const META = {
  /** The last committed manifestVersion (u64 as decimal text). */
  manifestVersion: "manifestVersion",
  /** The ETag of the last committed manifest, sent back as If-None-Match. */
  etag: "etag",
  /** Wall time (ms) the last manifest was committed. */
  manifestAppliedAtMs: "manifestAppliedAtMs",
  /** v1: the clientId onboarding gave this device. */
  clientId: "clientId",
  /** How many journal reports were compacted away in total. */
  journalCompacted: "journal.compacted",
  /** Capabilities last sent: digest of the body, for which client, on which path form. */
  capabilitiesDigest: "capabilitiesDigest",
  capabilitiesClientId: "capabilitiesClientId",
  capabilitiesPathForm: "capabilitiesPathForm",
  /**
   * GitOps source (src/gitops/): the last commit whose reconcile ran to the end
   * (40 or 64 hex), written only then (INV-SYNC-1); what it was fetched from
   * (url, ref and path: a commit of another source is no ancestor to check
   * against); and the wall time (ms) it was committed.
   */
  gitCommit: "git.commit",
  gitSource: "git.source",
  gitAppliedAtMs: "git.appliedAtMs",
} as const;

export type MetaKey = (typeof META)[keyof typeof META];
