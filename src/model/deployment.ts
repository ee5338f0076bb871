/** Margo deployment profile types an adapter may run. */
export type ProfileType = "compose" | "helm.v3";

/** An ApplicationDeployment reduced to what the agent acts on. */
export interface Deployment {
  id: string;
  name: string;
  namespace?: string;
  applicationId?: string;
  profileType: ProfileType;
  /** rc3 metadata.deviceId: the device (or "gateway/*" for a gateway's children) the deployment is for. */
  deviceId?: string;
  /** rc3 deploymentProfile.deviceConstraints: what the device must have (src/deployment/constraints.ts). */
  deviceConstraints?: DeviceConstraints;
  components: DeploymentComponent[];
  /** pointer → value per component name: the environment each component gets. */
  env: Record<string, Record<string, string>>;
}

export interface DeploymentComponent {
  name: string;
  packageLocation?: string;
  keyLocation?: string;
  /** Optional sha256 pin of the package (x-margo-agent-extensions.packageDigest). */
  packageDigest?: string;
  repository?: string;
  revision?: string;
  timeoutMs: number;
  wait: boolean;
}

/** rc.3 DeviceConstraints: minimum capacity, and eligibility rules on the reported properties and labels. */
export interface DeviceConstraints {
  capacityRequirements?: {
    cpu?: { cores: number; architectures?: string[] };
    /** Binary-unit strings as written ("1024Mi"), with their bytes. */
    memory?: { text: string; bytes: number };
    storage?: { text: string; bytes: number };
  };
  eligibilityRules?: EligibilityRule[];
}

export interface EligibilityRule {
  propertySelector?: Selector;
  labelSelector?: Selector;
}

export interface Selector {
  matchExpressions: MatchExpression[];
}

export interface MatchExpression {
  /** Property selectors: a JSON Pointer into the reported properties; label selectors: the label key. */
  key: string;
  /** In, NotIn, Exists, DoesNotExist, Gt, Lt, ContainsAll, ContainsAny (others are kept, never judged). */
  operator: string;
  values?: unknown[];
  itemSelector?: Selector;
}
