import * as v from "valibot";
import YAML from "yaml";
import { AgentError } from "../errors/index.ts";
import { isDigest } from "../protocol/digest.ts";
import { describeIssues } from "../protocol/strict-keys.ts";
import type { Deployment, DeploymentComponent } from "../model/deployment.ts";
import { parseComponentReference } from "../oci/reference.ts";
import { ApplicationDeploymentSchema, type ApplicationDeploymentDoc } from "./schema.ts";

/** A parameter value as an environment variable's text: strings as they are, the rest as JSON. */
function envText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function packageDigestOf(properties: Record<string, unknown>, component: Record<string, unknown>, where: string): string | undefined {
  const ext = (properties["x-margo-agent-extensions"] ?? component["x-margo-agent-extensions"]) as Record<string, unknown> | undefined;
  const pin = ext?.packageDigest;
  if (pin === undefined) return undefined;
  if (typeof pin !== "string" || !isDigest(pin)) {
    throw new AgentError("DEPLOYMENT_INVALID", `${where}: x-margo-agent-extensions.packageDigest must be sha256:<64 lowercase hex>`);
  }
  return pin;
}

function normalise(doc: ApplicationDeploymentDoc, where: string): Deployment {
  // rc3 puts the id at the top level, rc.2 in metadata.annotations; both may be there, then they must agree.
  const annotated = doc.metadata.annotations?.id;
  if (annotated !== undefined && doc.id !== undefined && annotated !== doc.id) {
    throw new AgentError("DEPLOYMENT_INVALID", `${where}: id ${doc.id} and metadata.annotations.id ${annotated} differ`);
  }
  const id = annotated ?? doc.id;
  if (!id) throw new AgentError("DEPLOYMENT_INVALID", `${where}: id: required (the deployment id, at the top level or in metadata.annotations.id)`);
  const annotatedApp = doc.metadata.annotations?.applicationId;
  if (annotatedApp !== undefined && doc.spec.applicationId !== undefined && annotatedApp !== doc.spec.applicationId) {
    throw new AgentError("DEPLOYMENT_INVALID", `${where}: spec.applicationId ${doc.spec.applicationId} and metadata.annotations.applicationId ${annotatedApp} differ`);
  }
  const names = new Set<string>();
  const components: DeploymentComponent[] = doc.spec.deploymentProfile.components.map((c, i) => {
    if (names.has(c.name)) throw new AgentError("DEPLOYMENT_INVALID", `${where}: spec.deploymentProfile.components.${i}.name: ${c.name} is listed twice`);
    names.add(c.name);
    const p = c.properties;
    const at = `${where}: spec.deploymentProfile.components.${i}.properties`;
    if (p.packageLocation !== undefined && p.repository !== undefined) {
      throw new AgentError("DEPLOYMENT_INVALID", `${at}: give packageLocation (rc.2) or repository + revision (an OCI artifact), not both`);
    }
    if (p.repository !== undefined) {
      // Checked here so a bad reference is a verdict on the YAML, not a failure at install time.
      try {
        parseComponentReference(p.repository, p.revision);
      } catch (err) {
        throw new AgentError("DEPLOYMENT_INVALID", `${at}.repository: ${(err as Error).message}`);
      }
    } else if (p.revision !== undefined) {
      throw new AgentError("DEPLOYMENT_INVALID", `${at}.revision: given without a repository`);
    }
    if (doc.spec.deploymentProfile.type === "compose" && !p.packageLocation && !p.repository) {
      throw new AgentError("DEPLOYMENT_INVALID", `${at}: a compose component needs repository + revision (rc3) or packageLocation (rc.2)`);
    }
    return {
      name: c.name,
      packageLocation: p.packageLocation,
      keyLocation: p.keyLocation,
      packageDigest: packageDigestOf(p as Record<string, unknown>, c as Record<string, unknown>, where),
      repository: p.repository,
      revision: p.revision,
      timeoutMs: p.timeout,
      wait: p.wait,
    };
  });
  const env: Record<string, Record<string, string>> = Object.fromEntries(components.map((c) => [c.name, {}]));
  for (const [paramName, param] of Object.entries(doc.spec.parameters ?? {})) {
    for (const target of param.targets) {
      for (const componentName of target.components) {
        const bucket = env[componentName];
        if (!bucket) {
          throw new AgentError("DEPLOYMENT_INVALID", `${where}: spec.parameters.${paramName}: targets component ${JSON.stringify(componentName)}, which the deployment does not have`);
        }
        bucket[target.pointer] = envText(param.value);
      }
    }
  }
  return {
    id,
    name: doc.metadata.name,
    namespace: doc.metadata.namespace,
    applicationId: annotatedApp ?? doc.spec.applicationId,
    profileType: doc.spec.deploymentProfile.type,
    ...(doc.metadata.deviceId !== undefined ? { deviceId: doc.metadata.deviceId } : {}),
    ...(doc.spec.deploymentProfile.deviceConstraints !== undefined ? { deviceConstraints: doc.spec.deploymentProfile.deviceConstraints } : {}),
    components,
    env,
  };
}

/**
 * Parses one ApplicationDeployment YAML document. `where` names it in errors
 * (e.g. the deployment id and digest from the manifest).
 */
export function parseDeployment(yamlText: string, where: string): Deployment {
  const doc = YAML.parseDocument(yamlText, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    throw new AgentError("DEPLOYMENT_INVALID", `${where}: invalid YAML${at}: ${e.message.split("\n")[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // The yaml library refuses alias bombs ("billion laughs") here.
    throw new AgentError("DEPLOYMENT_INVALID", `${where}: ${(err as Error).message}`);
  }
  const result = v.safeParse(ApplicationDeploymentSchema, value);
  if (!result.success) throw new AgentError("DEPLOYMENT_INVALID", `${where}: ${describeIssues(result.issues)}`);
  return normalise(result.output, where);
}
