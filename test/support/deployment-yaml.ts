/**
 * One ApplicationDeployment YAML of one compose component, for tests and
 * benches that serve deployments from a folder (the dev WFM) or a registry:
 * the package as an OCI artifact (rc3) or a URL (rc.2), and optionally one
 * parameter VALUE targeting the component.
 */
export interface ApplicationDeploymentYamlOptions {
  id: string;
  name?: string;
  applicationId?: string;
  component?: string;
  package: { repository: string; revision: string } | { packageLocation: string };
  /** The VALUE parameter; none when absent. */
  value?: string;
  /** The component's wait and timeout; null leaves both out (the agent's defaults). Default 30s. */
  timeout?: string | null;
}

export function applicationDeploymentYaml(o: ApplicationDeploymentYamlOptions): string {
  const component = o.component ?? "app";
  const pkg = "repository" in o.package ? `repository: "${o.package.repository}", revision: "${o.package.revision}"` : `packageLocation: "${o.package.packageLocation}"`;
  const parameters =
    o.value === undefined
      ? ""
      : `  parameters:
    v:
      value: "${o.value}"
      targets: [{pointer: VALUE, components: [${component}]}]
`;
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations: {id: ${o.id}, applicationId: ${o.applicationId ?? "fleet"}}
  name: ${o.name ?? o.id}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: ${component}
        properties: {${pkg}${o.timeout === null ? "" : `, wait: true, timeout: ${o.timeout ?? "30s"}`}}
${parameters}`;
}
