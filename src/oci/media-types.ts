/**
 * Media types, and the table of artifact kinds the puller understands. The puller itself is not
 * compose-specific: a kind says which artifactType and which single layer media type make a valid
 * artifact, so Helm charts (same repository/revision shape) are one more row, not more code.
 */

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

/** The image spec's "empty descriptor": the two bytes `{}`, for artifacts that need no config. */
export const EMPTY_DESCRIPTOR = {
  mediaType: OCI_EMPTY,
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
  data: "e30=",
} as const;
export const EMPTY_BYTES = new TextEncoder().encode("{}");

/** Annotation keys the Margo compose registry spec requires (and the OCI ones it recommends). */
export const ANNOTATION = {
  componentType: "org.margo.component.type",
  componentVersion: "org.margo.component.version",
  title: "org.opencontainers.image.title",
  description: "org.opencontainers.image.description",
  authors: "org.opencontainers.image.authors",
  version: "org.opencontainers.image.version",
  created: "org.opencontainers.image.created",
  source: "org.opencontainers.image.source",
} as const;

export interface ArtifactKind {
  /** Names the kind in messages. */
  name: string;
  /** The manifest's artifactType (or, per the image spec's artifact guidance, its config.mediaType). */
  artifactType: string;
  /** The media type of the one layer that is the package. */
  layerMediaType: string;
  /** Other layers a valid artifact may carry beside it (ignored by the puller), e.g. Helm provenance. */
  ignoredLayerMediaTypes: readonly string[];
  /** Value of org.margo.component.type when the annotation is present. */
  componentType: string;
}

export const ARTIFACT_KINDS = {
  compose: {
    name: "Margo compose archive",
    artifactType: "application/vnd.org.margo.component.compose+json",
    layerMediaType: "application/vnd.org.margo.component.compose.tar+gzip",
    ignoredLayerMediaTypes: [],
    componentType: "compose",
  },
  // `helm push` puts the type on config.mediaType and may add a provenance layer.
  helm: {
    name: "Helm chart",
    artifactType: "application/vnd.cncf.helm.config.v1+json",
    layerMediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    ignoredLayerMediaTypes: ["application/vnd.cncf.helm.chart.provenance.v1.prov"],
    componentType: "helm.v3",
  },
} as const satisfies Record<string, ArtifactKind>;

export type ArtifactKindName = keyof typeof ARTIFACT_KINDS;
