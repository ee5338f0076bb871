/**
 * The DeviceCapabilitiesManifest (docs/protocol.md §3), as the agent builds
 * it. What the device is (DeviceDescription) is collected once, whatever the
 * profile; each profile frames it (src/protocol/profiles/): v1 (OpenAPI rc.2)
 * with apiVersion/kind and `cpu`, rc3 (OpenAPI rc.3) without them, with
 * `cpus` and the operator's labels.
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

export interface Cpu {
  cores: number;
  architecture?: Architecture;
}

/** The profile-free description: the properties (hosting fields as in rc3, `cpus`) and the labels. */
export interface DeviceDescription {
  properties: Omit<DeviceProperties, "cpu"> & { cpus?: Cpu[] };
  /** device.labels: string, number, boolean, or lists of strings or numbers. */
  labels: Record<string, LabelValue>;
}

export type LabelValue = string | number | boolean | string[] | number[];

/** rc.3: no apiVersion/kind (additionalProperties: false), `cpus`, labels beside the properties. */
export interface Rc3CapabilitiesManifest {
  properties: DeviceDescription["properties"];
  labels?: Record<string, LabelValue>;
}

/** The v1 (rc.2) frame of a description: the envelope and `cpu`; rc.2 has no labels. */
export function v1Capabilities(device: DeviceDescription): DeviceCapabilitiesManifest {
  const { cpus, ...rest } = device.properties;
  const properties: DeviceProperties = { id: rest.id, vendor: rest.vendor, modelNumber: rest.modelNumber, serialNumber: rest.serialNumber };
  // Key order as the agent has always sent it (the body digest decides whether a PUT is due).
  if (cpus !== undefined) properties.cpu = cpus;
  if (rest.memory !== undefined) properties.memory = rest.memory;
  if (rest.storage !== undefined) properties.storage = rest.storage;
  if (rest.peripherals !== undefined) properties.peripherals = rest.peripherals;
  if (rest.interfaces !== undefined) properties.interfaces = rest.interfaces;
  if (rest.otelCollector !== undefined) properties.otelCollector = rest.otelCollector;
  if (rest.supportedRuntimes !== undefined) properties.supportedRuntimes = rest.supportedRuntimes;
  if (rest.supportedDeploymentTypes !== undefined) properties.supportedDeploymentTypes = rest.supportedDeploymentTypes;
  return { apiVersion: CAPABILITIES_API_VERSION, kind: "DeviceCapabilitiesManifest", properties };
}

/** The rc3 frame: labels only when the operator gave some. */
export function rc3Capabilities(device: DeviceDescription): Rc3CapabilitiesManifest {
  return Object.keys(device.labels).length > 0 ? { properties: device.properties, labels: device.labels } : { properties: device.properties };
}
