/**
 * Is this host or address loopback? Pure: no DNS, so a name counts only when
 * it is "localhost" or under ".localhost" (RFC 6761). One rule for every place
 * that lets loopback do more (plain http to a dev WFM or registry, an API
 * without a token).
 */
import { isIP } from "node:net";

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.x.y.z), with or without brackets. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, "");
  if (isIP(a) === 4) return a.startsWith("127.");
  if (isIP(a) === 6) return a === "::1" || a === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(a);
  return false;
}

/** A host name or address that only this machine can be. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || isLoopbackAddress(h);
}
