/**
 * Every stable error code the agent emits, in one table. Codes are part of the
 * agent's interface (status reports, logs, the local API): never rename one.
 * README.md's error table is checked against this object by a test.
 */
export const ERROR_CODES = {
  // configuration and start-up
  CONFIG_INVALID: "A configuration value is missing or invalid; the message names the key, the value and the file.",
  CONFIG_NOT_FOUND: "The configuration file named with --config does not exist or cannot be read.",
  CA_FILE_INVALID: "The CA file the WFM is verified with (wfm.caFile, or the trust-on-first-use copy) is missing, unreadable or holds no valid PEM certificate; the message names the file.",
  DATA_DIR_IN_USE: "Another margo-agent process holds the data directory's lock; the message names the directory and that process's pid.",
  // desired state
  WFM_UNREACHABLE: "The WFM could not be reached (DNS, connection refused, TLS, timeout).",
  WFM_HTTP_ERROR: "The WFM answered with an unexpected HTTP status.",
  WFM_BODY_TOO_LARGE: "A WFM response exceeded the configured size limit.",
  MANIFEST_INVALID: "The state manifest is not valid JSON or does not match the Margo schema.",
  MANIFEST_VERSION_NOT_NEWER: "The manifestVersion is not greater than the last applied one (possible rollback attack); nothing applied.",
  MANIFEST_NOT_ACCEPTABLE: "The WFM answered 406: it cannot serve the manifest format the agent asks for.",
  URL_FOREIGN_ORIGIN: "An artifact URL points outside the WFM's origin; nothing applied.",
  DIGEST_MISMATCH: "An artifact's SHA-256 does not match the digest in the manifest; nothing applied.",
  DIGEST_UNSUPPORTED: "A digest is not of the form sha256:<64 lowercase hex>.",
  BUNDLE_UNSAFE: "The bundle holds an absolute path, '..', a link or a device entry.",
  BUNDLE_TOO_LARGE: "The bundle exceeds the entry-count, entry-size or total-size limit when decompressed.",
  BUNDLE_INVALID: "The bundle is not a readable gzip-compressed tar.",
  BUNDLE_INCOMPLETE: "The bundle lacks a deployment listed in the manifest.",
  DEPLOYMENT_INVALID: "An ApplicationDeployment YAML cannot be parsed or does not match the schema.",
  DEPLOYMENT_ID_MISMATCH: "An ApplicationDeployment's id differs from the deploymentId the manifest gives for it.",
  PROFILE_UNSUPPORTED: "No runtime adapter on this device runs this deployment profile type (e.g. helm.v3 without Kubernetes).",
  DEPLOYMENT_OTHER_DEVICE: "(rc3) An ApplicationDeployment's metadata.deviceId names another device than this one; nothing of it is installed.",
  DEVICE_CONSTRAINT_UNMET: "(rc3) This device can never satisfy the deployment's deviceConstraints (CPU architecture or cores, memory, storage, or no eligibility rule on its properties and labels holds); the message names the constraint.",
  // packages
  PACKAGE_DOWNLOAD_FAILED: "A component package could not be downloaded.",
  PACKAGE_TOO_LARGE: "A component package exceeds the configured size limit.",
  PACKAGE_UNSAFE: "A component package archive holds unsafe entries (absolute paths, '..', links, devices).",
  PACKAGE_INVALID: "A component package is neither a compose file nor a .tar.gz holding one.",
  PACKAGE_SIGNATURE_INVALID: "A component package's detached PGP signature is missing or does not verify against keyLocation.",
  PACKAGE_INSECURE_URL: "A package URL uses plain http and insecure packages are not allowed by the configuration.",
  // OCI registries (components named by repository: oci://… and revision)
  REGISTRY_UNAUTHORIZED: "An OCI registry or its token service refused access: credentials missing (registries.authFile), wrong, or without pull rights for the repository.",
  REGISTRY_UNREACHABLE: "No OCI registry endpoint (mirrors, then the origin) could be reached: connection, TLS, timeout or an unexpected HTTP status.",
  ARTIFACT_NOT_FOUND: "The registry has no such repository, tag, digest or blob.",
  ARTIFACT_INVALID: "An OCI artifact is not a valid package of its kind: wrong artifactType or layer media type, not exactly one layer, a malformed manifest, or an archive that breaks the Margo layout (one top-level directory holding compose.yaml).",
  DISK_SPACE_LOW: "Free space on the data directory or engine storage is below the configured reserve.",
  // engines
  ENGINE_NOT_FOUND: "The container engine or compose tool is not installed.",
  ENGINE_UNREACHABLE: "The container engine is installed but does not answer (socket down, daemon stopped).",
  IMAGE_NOT_FOUND: "An image named by the compose file is not present and cannot be pulled.",
  COMPOSE_POLICY_DENIED: "The compose file asks for more than the device's policy allows (privileged, host namespaces, host paths, raw devices); nothing is started.",
  COMPOSE_INVALID: "The compose file is malformed or rejected by the compose tool.",
  COMPONENT_APPLY_FAILED: "The compose tool failed to bring the component up; the message quotes its error.",
  COMPONENT_TIMEOUT: "A component did not become running (or healthy) within its timeout.",
  COMPONENT_EXITED: "A component's container exited; the message carries its exit code.",
  COMPONENT_REMOVE_FAILED: "The compose tool failed to remove a component.",
  UPDATE_ROLLED_BACK: "An update failed and the previous version of the deployment was restored.",
  UPDATE_DEFERRED: "The deployment's workload holds its update lock (dataDir/locks/<deploymentId>/updates.lock): its update, removal or restart waits until the lock is released or updateLocks.maxDeferral has passed; margo-agent sync --force overrides it.",
  LOGS_UNAVAILABLE: "The runtime cannot show container logs for this deployment (the simulated runtime runs no containers, or none of its containers exist).",
  DRIFT_RESTORED: "A component changed outside the agent (stopped, removed) and was restored.",
  // state and reporting
  STORE_TAMPERED: "A stored ApplicationDeployment no longer matches its digest; it is not re-applied.",
  STORE_CORRUPT: "The state database is not a database or failed its integrity check at start; the agent exits. The message names the file; README (Durability) says what an operator may do.",
  STORE_UNAVAILABLE: "The state database cannot be opened or written (permissions, a read-only or full file system, an I/O error); the file is not damaged. The message names it and SQLite's reason.",
  REPORT_REJECTED: "The WFM rejected a status report (400/422); it is parked, not retried.",
  IDENTITY_REJECTED: "The WFM answered 401/403: the device's signature, certificate or onboarding is not accepted (v1), or its policy does not authorize this client, e.g. a retired client relationship (rc3 not-authorized).",
  IDENTITY_INVALID: "The device key or certificate file is missing, unreadable, malformed or the two do not match; the message names the file.",
  ONBOARDING_PENDING: "The WFM has not approved this device yet (403 on onboarding); retried with backoff.",
  CLOCK_SKEW: "The device clock differs from the WFM's Date header by more than the signature window.",
  // rc3 identity and trust (docs/identity-rc3.md)
  SVID_EXPIRING: "The agent's X.509-SVID expires soon (or has expired); the device's provisioning must renew it before its notAfter.",
  WFM_IDENTITY_MISMATCH: "The WFM's certificate does not carry exactly the SPIFFE ID spiffe://<trust-domain>/margo/wfm/<wfm-id> named by the agent's own SVID; the connection is refused.",
  CLIENT_IDENTITY_REFUSED: "(dev WFM) A client certificate's SPIFFE ID is not of this WFM's client form spiffe://<trust-domain>/margo/wfm/<wfm-id>/client/<id>; the connection is refused.",
  TRUST_BUNDLE_INVALID: "A trust bundle or discovery document is malformed, holds no X.509 anchor, or names another trust domain; it is refused and the current bundle stays in use.",
  TRUST_BUNDLE_REGRESSION: "A fetched SPIFFE bundle has a lower spiffe_sequence than the bundle held (possible rollback); it is refused and the current bundle stays in use.",
  TRUST_BUNDLE_UNREACHABLE: "The trust discovery document or SPIFFE bundle could not be fetched; the cached bundle stays in use and the fetch is retried.",
  TRUST_BUNDLE_MISSING: "No trust bundle is available yet (no wfm.caFile, none cached, discovery not answered): the WFM's certificate cannot be verified, so nothing is sent.",
  // GitOps desired-state source (docs/protocol.md, "GitOps source")
  GIT_UNREACHABLE: "The Git server of the GitOps source could not be reached (DNS, connection refused, TLS, timeout, a 5xx); the last applied state keeps running and the server is tried again with backoff.",
  GIT_AUTH_FAILED: "The Git server refused the credentials (git.tokenFile, git.sshKeyFile) or the ssh host key is not in git.knownHostsFile; tried again with backoff.",
  GIT_REF_NOT_FOUND: "The repository has no branch or tag named git.ref; nothing applied.",
  GIT_HISTORY_REWRITTEN: "Security event: the tip of git.ref does not descend from the last applied commit (force-push to an older or unrelated commit); nothing applied unless git.allowRewrite is true.",
  GIT_SIGNATURE_INVALID: "git.verify is on and the tip commit is unsigned or not signed by a key in git.verify.keysFile; nothing applied.",
  GIT_LIMIT_EXCEEDED: "A Git sync went past git.limits (bytes fetched, entries in the device's folder, time, history depth); nothing applied.",
  GIT_PATH_NOT_FOUND: "The commit has no folder at git.path (or it is not a folder); nothing applied, so a mistyped path or a moved tree never removes a device's workloads.",
  GIT_FAILED: "A git command failed for another reason (git not installed, a corrupt fetch); the message quotes git's error.",
  // local API (answers to the field engineer's requests, never sent to the WFM)
  API_UNAUTHORIZED: "A local API request lacks the bearer token api.token, or carries a wrong one.",
  API_FORBIDDEN: "A local API request is not allowed from where it came (e.g. POST /v1/sync from the network with no api.token configured).",
  API_NOT_FOUND: "The local API has no such route, or no deployment with that id.",
  API_BAD_REQUEST: "A local API request has a malformed parameter (e.g. ?tail=abc); the message names it.",
  API_CONFLICT: "A local API action cannot be done in the deployment's current state (e.g. restarting a deployment that is not installed).",
  INTERNAL: "An unexpected internal error; the message carries the detail.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
