/** Margo deployment profile types an adapter may run. */
export type ProfileType = "compose" | "helm.v3";

/** An ApplicationDeployment reduced to what the agent acts on. */
export interface Deployment {
  id: string;
  name: string;
  namespace?: string;
  applicationId?: string;
  profileType: ProfileType;
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
