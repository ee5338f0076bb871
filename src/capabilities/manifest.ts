/**
 * The capabilities bodies live with the profiles that frame them
 * (src/protocol/capabilities-body.ts): the protocol layer sits below this one.
 */
export * from "../protocol/capabilities-body.ts";
