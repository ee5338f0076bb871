export { collectCapabilities, collectDevice, deploymentTypes, formatMemory, margoArchitecture, storagePath, type CollectOptions } from "./collect.ts";
export { readDeviceFacts, readMachineId, resolveDeviceId, type DeviceFacts } from "./device-facts.ts";
export { detectInterfaces } from "./interfaces.ts";
export {
  CAPABILITIES_API_VERSION,
  rc3Capabilities,
  v1Capabilities,
  type Architecture,
  type Cpu,
  type DeviceDescription,
  type LabelValue,
  type Rc3CapabilitiesManifest,
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
export { CAPABILITIES_PUT_META, putCapabilities, type PutCapabilitiesOptions, type PutOutcome } from "./report-put.ts";
