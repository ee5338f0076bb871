import { expect, test } from "bun:test";
import { parseImageReference } from "../../../src/oci/image-diagnosis.ts";

test("docker-style image names: registry, repository and tag or digest, Docker Hub's defaults", () => {
  expect(parseImageReference("busybox")).toEqual({ registry: "registry-1.docker.io", repository: "library/busybox", reference: "latest" });
  expect(parseImageReference("org/app:1.2")).toEqual({ registry: "registry-1.docker.io", repository: "org/app", reference: "1.2" });
  expect(parseImageReference("127.0.0.1:5000/margo/app:1")).toEqual({ registry: "127.0.0.1:5000", repository: "margo/app", reference: "1" });
  expect(parseImageReference("localhost/app")).toEqual({ registry: "localhost", repository: "app", reference: "latest" });
  expect(parseImageReference(`registry.example.com/a/b@sha256:${"a".repeat(64)}`)).toEqual({ registry: "registry.example.com", repository: "a/b", reference: `sha256:${"a".repeat(64)}` });
  expect(parseImageReference("Registry.Example.com:443/x:2")?.registry).toBe("registry.example.com:443");
  // Interpolated or malformed: nothing to ask a registry about.
  for (const bad of ["", "${IMAGE}", "a b"]) expect(parseImageReference(bad)).toBeUndefined();
});
