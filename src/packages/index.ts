export { resolvePackage, safeSegment, DEFAULT_PACKAGE_LIMITS, type PackageDeps, type PackageInput, type PackageLimits, type ResolvedPackage } from "./resolve.ts";
export { download, downloadToFile, DEFAULT_MAX_REDIRECTS, type PackageFetch } from "./download.ts";
export { checkFreeSpace, type FreeSpaceProbe } from "./disk.ts";
