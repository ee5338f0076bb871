/**
 * Parameters of a stored ApplicationDeployment, with values that look secret
 * replaced: a field engineer's screen or a support ticket must not carry a
 * database password.
 */
import YAML from "yaml";
import type { ParameterView } from "../source.ts";

const SECRET = /pass|secret|token|key|credential/i;
export const MASK = "***";

export function looksSecret(name: string, pointers: readonly string[]): boolean {
  return SECRET.test(name) || pointers.some((p) => SECRET.test(p));
}

/**
 * spec.parameters of a YAML that parseDeployment has already accepted (so the
 * shape is known good); names sorted for stable output.
 */
export function maskedParameters(yamlText: string): ParameterView[] {
  const doc = YAML.parse(yamlText, { maxAliasCount: 100 }) as { spec?: { parameters?: Record<string, { value: unknown; targets: { pointer: string; components: string[] }[] }> | null } };
  const params = doc.spec?.parameters ?? {};
  return Object.keys(params)
    .sort()
    .map((name) => {
      const p = params[name]!;
      const targets = p.targets.map((t) => ({ pointer: t.pointer, components: [...t.components] }));
      const masked = looksSecret(name, targets.map((t) => t.pointer));
      return { name, value: masked ? MASK : p.value, masked, targets };
    });
}
