import type { ResolvedComponent } from "../../runtimes/types.ts";
import type { Deployment, DeploymentComponent } from "../model/deployment.ts";

/** Turns a component of a deployment into something a runtime can apply (package fetched, verified, unpacked). */
export type ComponentResolver = (deployment: Deployment, component: DeploymentComponent, signal: AbortSignal) => Promise<ResolvedComponent>;
