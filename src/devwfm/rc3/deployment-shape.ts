/**
 * ApplicationDeployments in the rc3 shape (docs/protocol, rc3 section of the
 * README): the deployment id at the top level (`id`), `spec.applicationId`,
 * and a `metadata.annotations` map (the rc.3 schema requires one). A folder
 * YAML written the v1 way (`metadata.annotations.id`/`applicationId`) is moved
 * over; one already in the rc3 shape is served byte for byte. Nothing else is
 * touched: `metadata.deviceId` appears when the folder says so, and
 * components keep `packageLocation` until the agent pulls OCI artifacts.
 *
 * Done on the YAML document, not on a re-serialised object, so comments and
 * the author's layout survive.
 */
import YAML, { isMap, type Document, type YAMLMap } from "yaml";

function mapAt(doc: Document, key: string): YAMLMap | undefined {
  const node = doc.get(key, true);
  return isMap(node) ? node : undefined;
}

/** Inserts key: value into `map` right after `afterKey` (or first). */
function insertAfter(doc: Document, map: YAMLMap, afterKey: string | null, key: string, value: unknown): void {
  const pair = doc.createPair(key, value);
  const index = afterKey === null ? -1 : map.items.findIndex((p) => YAML.isScalar(p.key) && p.key.value === afterKey);
  map.items.splice(index + 1, 0, pair);
}

/** The text in the rc3 shape; unchanged when it already is, or when it is not a mapping document (the scan reports those). */
export function toRc3Shape(text: string): string {
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return text;
  const root = doc.contents;
  const metadata = mapAt(doc, "metadata");
  if (metadata === undefined) return text;
  let changed = false;
  let annotations = metadata.get("annotations", true);
  if (annotations === undefined || annotations === null) {
    metadata.set("annotations", doc.createNode({}));
    annotations = metadata.get("annotations", true);
    changed = true;
  }
  if (!isMap(annotations)) return text;

  const annotatedId = annotations.get("id");
  if (annotatedId !== undefined && !root.has("id")) {
    insertAfter(doc, root, root.has("kind") ? "kind" : null, "id", annotatedId);
    annotations.delete("id");
    changed = true;
  } else if (annotatedId !== undefined && root.get("id") === annotatedId) {
    annotations.delete("id");
    changed = true;
  }
  const spec = mapAt(doc, "spec");
  const annotatedApp = annotations.get("applicationId");
  if (spec !== undefined && annotatedApp !== undefined && !spec.has("applicationId")) {
    insertAfter(doc, spec, null, "applicationId", annotatedApp);
    annotations.delete("applicationId");
    changed = true;
  }
  if (annotations.items.length === 0) annotations.flow = true;
  return changed ? doc.toString({ lineWidth: 0 }) : text;
}
