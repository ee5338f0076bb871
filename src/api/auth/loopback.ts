/**
 * Loopback detection for the local API's token rules: the one rule of
 * src/util/loopback.ts.
 */
export { isLoopbackAddress, isLoopbackHost } from "../../util/loopback.ts";
