/**
 * The DeviceCapabilitiesManifest (PROTOCOL.md §3; OpenAPI rc.2
 * #/components/schemas/DeviceCapabilitiesManifest), as the agent builds it.
 */
export const CAPABILITIES_API_VERSION = "device.margo.org/v1alpha1";

export type InterfaceType = "ethernet" | "wifi" | "cellular" | "bluetooth" | "usb" | "canbus" | "rs232";
export type PeripheralType = "gpu" | "display" | "camera" | "microphone" | "speaker";
export type Architecture = "amd64" | "arm64" | "arm";
export type DeploymentType = "compose" | "helm";

export interface Peripheral {
  type: PeripheralType;
  manufacturer?: string;
  model?: string;
}

export interface DeviceProperties {
  id: string;
  vendor: string;
  modelNumber: string;
  serialNumber: string;
  /** The hosting fields below are all present, or all absent (a device that cannot host workloads now). */
  cpu?: { cores: number; architecture?: Architecture }[];
  memory?: string;
  storage?: string;
  peripherals?: Peripheral[];
  interfaces?: { type: InterfaceType }[];
  otelCollector?: boolean;
  supportedRuntimes?: ["oci"];
  supportedDeploymentTypes?: DeploymentType[];
}

export interface DeviceCapabilitiesManifest {
  apiVersion: typeof CAPABILITIES_API_VERSION;
  kind: "DeviceCapabilitiesManifest";
  properties: DeviceProperties;
}
