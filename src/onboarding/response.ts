/**
 * The onboarding answer (docs/protocol.md §1.4): `201 {"clientId": "…"}`, or the
 * older snake_case `client_id`. The clientId goes into every URL path from
 * then on, so it must be URL-safe (RFC 3986 unreserved characters).
 */
import * as v from "valibot";

export const ClientIdSchema = v.pipe(
  v.string("clientId must be a string"),
  v.minLength(1, "clientId must not be empty"),
  v.maxLength(256, "clientId must be at most 256 characters"),
  v.regex(/^[A-Za-z0-9._~-]+$/, "clientId must use only letters, digits and . _ ~ - (URL-safe)"),
);

export const OnboardingResponseSchema = v.pipe(
  v.looseObject({
    clientId: v.optional(ClientIdSchema),
    client_id: v.optional(ClientIdSchema),
  }),
  v.check((r) => r.clientId !== undefined || r.client_id !== undefined, "the response has no clientId"),
  v.transform((r) => ({ clientId: (r.clientId ?? r.client_id)! })),
);

export type OnboardingResponse = v.InferOutput<typeof OnboardingResponseSchema>;

export const ONBOARDING_API_VERSION = "onboarding.margo.org/v1alpha1";

export function onboardingRequestBody(certificateDerBase64: string): string {
  return JSON.stringify({ apiVersion: ONBOARDING_API_VERSION, kind: "OnboardingRequest", certificate: certificateDerBase64 });
}
