/**
 * Identity and trust for the rc3 profile (docs/identity-rc3.md). What the
 * rest of the agent uses:
 *
 * - SvidWatcher: the agent's X.509-SVID from identity.certFile/keyFile, kept
 *   current across rotations (current(), version, expiry()).
 * - TrustBundleStore + parseTrustBundle: the anchors (wfm.caFile, or cached
 *   from discovery), persisted in the data dir.
 * - TrustBundleRefresher: discovery and bundle refresh on its own schedule.
 * - MtlsConnector (+ bunSessionFactory): the fetch every rc3 request goes
 *   through; clientTlsOptions is the raw option builder underneath.
 * - serveMtls, DevCa, writeSvidFiles: the WFM side, for the dev WFM and tests.
 */
export { parseTrustBundle, bundleFromAnchors, type TrustBundle } from "./bundle.ts";
export { BUNDLE_FILE, TrustBundleStore, type HeldBundle, type OfferOutcome } from "./bundle-store.ts";
export { bunSessionFactory } from "../platform/bun/fetch-session.ts";
export { checkWfmCertificate, clientTlsOptions, TLS_1_2, TLS_1_3, type ClientTlsChoice, type ClientTlsOptions } from "./client-tls.ts";
export { DevCa, writeSvidFiles, type DevCaOptions, type IssueOptions, type SvidMaterial } from "./dev-ca.ts";
export {
  DiscoveryDocumentSchema,
  discoveryUrl,
  fetchBundle,
  fetchDiscovery,
  requireHttps,
  type DiscoveryDocument,
  type FetchFn,
} from "./discovery.ts";
export { MtlsConnector, DEFAULT_MAX_SESSION_AGE_MS, type MtlsConnectorOptions, type SessionFactory, type TlsSession } from "./mtls-connector.ts";
export {
  TrustBundleRefresher,
  DEFAULT_MAX_INTERVAL_MS,
  DEFAULT_MIN_INTERVAL_MS,
  type RefresherStatus,
  type RefreshKind,
  type RefreshOutcome,
  type TrustRefresherOptions,
} from "./refresher.ts";
export { SecretText } from "./secret.ts";
export {
  checkClientCertificate,
  serveMtls,
  type MtlsHandler,
  type MtlsPeer,
  type MtlsServer,
  type MtlsServerOptions,
  type RefusedClient,
  type ServerTlsMaterial,
} from "./server-tls.ts";
export {
  asMargoId,
  clientSpiffeId,
  expectedWfmId,
  isClientOf,
  parseClientId,
  parseSpiffeId,
  parseWfmId,
  SpiffeIdError,
  wfmSpiffeId,
  type MargoClientId,
  type MargoId,
  type MargoWfmId,
  type SpiffeId,
} from "./spiffe-id.ts";
export { DEFAULT_EXPIRY_WARNING_MS, loadSvid, svidExpiry, type LoadSvidOptions, type Svid, type SvidExpiry, type SvidState } from "./svid.ts";
export { DEFAULT_SVID_POLL_MS, SvidWatcher, type CheckOutcome, type SvidWatcherOptions } from "./svid-watcher.ts";
export { systemTimers, type Timers } from "./timers.ts";
