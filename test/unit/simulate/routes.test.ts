import { describe, expect, test } from "bun:test";
import { routeOf } from "../../../src/simulate/routes.ts";

describe("routeOf: one route for every device's request of the same kind", () => {
  test.each([
    ["GET", "https://wfm:8443/api/v1/deployments", "GET /api/v1/deployments"],
    ["GET", "https://wfm:8443/api/v1/deployments/dep-7/sha256:abc", "GET /api/v1/deployments/{id}/{digest}"],
    ["POST", "https://wfm:8443/api/v1/deployments/dep-7/status", "POST /api/v1/deployments/{id}/status"],
    ["GET", "https://wfm:8443/api/v1/bundles/sha256:abc", "GET /api/v1/bundles/{digest}"],
    ["PUT", "https://wfm:8443/api/v1/capabilities/sim-00042", "PUT /api/v1/capabilities/{deviceId}"],
    ["GET", "http://wfm/api/v1/clients/dev-1234/deployments", "GET /api/v1/clients/{clientId}/deployments"],
    ["POST", "http://wfm/api/v1/clients/dev-1234/deployments/d/status", "POST /api/v1/clients/{clientId}/deployments/{id}/status"],
    ["POST", "http://wfm/api/v1/onboarding", "POST /api/v1/onboarding"],
    ["GET", "https://wfm/v2/packages/app/manifests/1.0.0", "GET /v2/{name}/manifests/{reference}"],
    ["GET", "https://wfm/v2/a/b/c/blobs/sha256:00", "GET /v2/{name}/blobs/{reference}"],
    ["GET", "https://wfm/v2/", "GET /v2/"],
    ["GET", "http://wfm/packages/app/compose.yaml", "GET /packages/{path}"],
  ])("%s %s", (method, url, route) => {
    expect(routeOf(method, url)).toBe(route);
  });

  test("a WFM under a path prefix: the prefix is not part of the route", () => {
    expect(routeOf("GET", "https://wfm/margo/api/v1/deployments", "/margo")).toBe("GET /api/v1/deployments");
  });

  test("not a URL", () => {
    expect(routeOf("GET", "::")).toBe("GET (not a URL)");
  });
});
