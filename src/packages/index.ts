export { resolvePackage, safeSegment, type PackageDeps, type PackageInput, type ResolvedPackage } from "./resolve.ts";
export { download } from "./download.ts";
export { checkFreeSpace } from "./disk.ts";
