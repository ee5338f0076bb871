export { CLOCK_SKEW_TOLERANCE_SECONDS, clockSkewError, clockSkewSeconds } from "./clock-skew.ts";
export {
  CLIENT_ID_META,
  DEFAULT_ONBOARDING_BACKOFF,
  ensureOnboarded,
  sleep,
  type EnsureOnboardedOptions,
  type MetaStore,
} from "./ensure-onboarded.ts";
export { onboard, ONBOARDING_PATH, type OnboardOptions } from "./onboard.ts";
export { ClientIdSchema, ONBOARDING_API_VERSION, OnboardingResponseSchema, onboardingRequestBody } from "./response.ts";
export { certificatesFrom, ensureTrustedCa, ROOT_CA_PATH, TOFU_CA_FILE, type TrustOptions } from "./trust-on-first-use.ts";
