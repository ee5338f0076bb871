export { collectCapabilities, deploymentTypes, formatMemory, margoArchitecture, storagePath, type CollectOptions } from "./collect.ts";
export { readDeviceFacts, readMachineId, resolveDeviceId, type DeviceFacts } from "./device-facts.ts";
export { detectInterfaces } from "./interfaces.ts";
export {
  CAPABILITIES_API_VERSION,
  type Architecture,
  type DeploymentType,
  type DeviceCapabilitiesManifest,
  type DeviceProperties,
  type InterfaceType,
  type Peripheral,
  type PeripheralType,
} from "./manifest.ts";
export { detectPeripherals } from "./peripherals.ts";
export { CAPABILITIES_META, reportCapabilities, type ReportCapabilitiesOptions, type ReportOutcome } from "./report.ts";
export { FsView } from "./sysfs.ts";
