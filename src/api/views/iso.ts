/** Wall-clock milliseconds as the API's ISO 8601 UTC text. */
export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | undefined | null): string | null => (ms === undefined || ms === null ? null : iso(ms));
