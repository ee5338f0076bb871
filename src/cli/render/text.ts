/** Cuts text to `max` characters, marking the cut with an ellipsis; newlines become spaces. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s*\n\s*/g, " ");
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

/** Long ids (UUIDs) shortened for tables; `deployments ID` accepts such a prefix. */
export function shortId(id: string, length = 12): string {
  return id.length <= length ? id : `${id.slice(0, length - 1)}…`;
}

/** "42s ago", "3m ago", "2h ago", "5d ago", or "in 20s" for the future. */
export function relativeTime(isoText: string | null, nowMs: number): string {
  if (!isoText) return "never";
  const ms = Date.parse(isoText);
  if (Number.isNaN(ms)) return isoText;
  const delta = Math.round((nowMs - ms) / 1000);
  const abs = Math.abs(delta);
  const amount = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86_400 ? `${Math.floor(abs / 3600)}h` : `${Math.floor(abs / 86_400)}d`;
  return delta >= 0 ? `${amount} ago` : `in ${amount}`;
}
