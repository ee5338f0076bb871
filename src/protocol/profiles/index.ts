/** The Margo profiles the agent speaks (docs/protocol.md, "Profiles"): one per folder. */
import { rc3Profile } from "./rc3/index.ts";
import type { ProfileName, WfmProfile } from "./types.ts";
import { v1Profile } from "./v1/index.ts";

export { rc3Profile } from "./rc3/index.ts";
export { v1Profile } from "./v1/index.ts";
export type { ProfileName, ProfileRoutes, WfmProfile } from "./types.ts";

const PROFILES: Record<ProfileName, WfmProfile> = { v1: v1Profile, rc3: rc3Profile };

/** The profile named by wfm.profile. */
export function profileFor(name: ProfileName): WfmProfile {
  return PROFILES[name];
}
