/** Path segments of profile routes: each is percent-encoded; a device id's "/" between levels stays. */
export const segment = (value: string): string => encodeURIComponent(value);

/** A device id "gateway/child" is a hierarchy, not one segment (rc.3 DeviceId). */
export const deviceIdPath = (deviceId: string): string => deviceId.split("/").map(encodeURIComponent).join("/");
