/**
 * WWW-Authenticate challenges (RFC 9110 §11.6.1) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`
 * or `Basic realm="…"`. Only the first challenge is used; registries send one.
 */
export interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "basic" && scheme !== "bearer") return undefined;
  const params: Record<string, string> = {};
  let rest = m[2]!;
  const param = /^\s*,?\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*/s;
  for (let guard = 0; rest.length > 0 && guard < 32; guard++) {
    const p = param.exec(rest);
    if (!p) break;
    const value = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
    params[p[1]!.toLowerCase()] = value;
    rest = rest.slice(p[0].length);
    // A second challenge ("…, Basic realm=…") starts with a bare token: stop there.
    if (/^\s*,?\s*[A-Za-z][A-Za-z0-9._~+/-]*\s+[A-Za-z0-9_-]+\s*=/.test(rest)) break;
  }
  return { scheme, params };
}
