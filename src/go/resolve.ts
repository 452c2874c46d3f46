/**
 * Pin a Go toolchain for each locked platform: fetch the go.dev/dl release list, select the newest
 * release matching the spec, and record the archive (file name, URL, sha256, size) per platform.
 *
 * We never pin without a sha256: old releases that only published SHA1 are refused.
 */
import { GoToolchainError } from '../errors.js';
import { goPlatform } from './platform.js';
import { type GoRelease, type GoReleaseFile, parseGoReleases, selectGoRelease } from './releases.js';

export const DEFAULT_GO_RELEASES_URL = 'https://go.dev/dl/?mode=json&include=all';

/** One platform's pinned Go archive (src/lockfile/build.ts turns it into the lockfile's entry). */
export interface GoToolchainPin {
  /** Conda platform. */
  platform: string;
  /** e.g. `1.22.5` (no `go` prefix). */
  version: string;
  /** Go's os/arch: linux/amd64, darwin/arm64, windows/amd64 ... */
  os: string;
  arch: string;
  filename: string;
  url: string;
  sha256: string;
  size: number;
}

/** What resolve needs from an HTTP client (src/net/http.ts's HttpClient fits). */
export interface JsonFetcher {
  getJson<T = unknown>(url: string): Promise<T>;
}

export interface ResolveGoToolchainOptions {
  /** Go spec: `1.22.*`, `1.22.5`, `>=1.21,<1.23`, `stable`, `toolchain go1.22.5`, `go 1.22` ... */
  spec: string;
  /** Conda platforms to pin for. */
  platforms: readonly string[];
  http: JsonFetcher;
  /** go.dev/dl JSON (default DEFAULT_GO_RELEASES_URL). */
  releasesUrl?: string;
  /** Base URL the archive file names are appended to (default: `<origin of releasesUrl>/dl/`). */
  downloadBaseUrl?: string;
  /** Allow rc/beta releases. */
  prerelease?: boolean;
}

/** `https://go.dev/dl/` for go.dev; `<origin>/dl/` for any other http(s) server; the folder for file:. */
export function defaultGoDownloadBase(releasesUrl: string): string {
  const u = new URL(releasesUrl);
  if (u.protocol === 'file:') return new URL('.', u).href;
  return `${u.origin}/dl/`;
}

/** Fetch and parse the release list. */
export async function fetchGoReleases(http: JsonFetcher, releasesUrl = DEFAULT_GO_RELEASES_URL): Promise<GoRelease[]> {
  const json = await http.getJson<unknown>(releasesUrl);
  return parseGoReleases(json, releasesUrl);
}

/** The archive of `release` for a conda platform (kind archive, .tar.gz / .zip). */
export function findGoArchive(release: GoRelease, condaPlatform: string): GoReleaseFile | undefined {
  const gp = goPlatform(condaPlatform);
  const candidates = release.files.filter(
    (f) => f.kind === 'archive' && f.os === gp.os && f.arch === gp.arch && f.filename.endsWith(`.${gp.ext}`),
  );
  if (candidates.length === 0) return undefined;
  const canonical = `${release.version}.${gp.os}-${gp.arch}.${gp.ext}`;
  // Go 1.2–1.4 published two macOS builds (-osx10.6 / -osx10.8); take the newest OS variant.
  return candidates.find((f) => f.filename === canonical) ?? [...candidates].sort((a, b) => (a.filename < b.filename ? 1 : -1))[0];
}

/** Pin one release for each platform (already selected). Sorted by platform. */
export function pinGoRelease(
  release: GoRelease,
  platforms: readonly string[],
  opts: { downloadBaseUrl: string; releases?: GoRelease[]; /** The releases URL, for messages. */ source?: string },
): GoToolchainPin[] {
  const base = opts.downloadBaseUrl.endsWith('/') ? opts.downloadBaseUrl : `${opts.downloadBaseUrl}/`;
  const out: GoToolchainPin[] = [];
  for (const platform of [...new Set(platforms)].sort()) {
    const gp = goPlatform(platform);
    const file = findGoArchive(release, platform);
    if (!file) {
      const first = opts.releases ? firstReleaseWith(opts.releases, platform) : undefined;
      const since = first ? `; ${gp.os}/${gp.arch} archives start with ${first}` : '';
      throw new GoToolchainError(
        `Go ${release.parsed.text} has no ${gp.ext} archive for ${platform} (${gp.os}/${gp.arch})${since}: ` +
          `choose a newer Go version or drop ${platform} from the platforms`,
        { code: 'E_GO_NO_ARCHIVE' },
      );
    }
    if (!/^[0-9a-f]{64}$/.test(file.sha256)) {
      const v = release.parsed;
      const beforeSha256 = v.major === 1 && v.minor < 6;
      const found = file.sha256 === '' ? 'an empty sha256' : `sha256 '${file.sha256.slice(0, 80)}', which is not 64 hex digits`;
      throw new GoToolchainError(
        beforeSha256
          ? `Go ${v.text} ${file.filename} has no sha256 in the release metadata ` +
              `(releases before Go 1.6 published only SHA1); conda-go-lock never pins an archive without sha256: choose Go 1.6 or newer`
          : `Go ${v.text} ${file.filename} has ${found} in the release metadata${opts.source ? ` at ${opts.source}` : ''}; ` +
              `go.dev publishes one for every archive since Go 1.6, so this list (or the mirror that serves it) is incomplete: ` +
              `fix it, or lock against https://go.dev/dl/?mode=json&include=all. conda-go-lock never pins an archive without sha256`,
        { code: 'E_GO_NO_SHA256' },
      );
    }
    out.push({
      platform,
      version: release.parsed.text,
      os: gp.os,
      arch: gp.arch,
      filename: file.filename,
      url: new URL(encodeURIComponent(file.filename), base).href,
      sha256: file.sha256,
      size: file.size,
    });
  }
  return out;
}

/** Oldest stable release that has an archive for the platform (for error hints). */
function firstReleaseWith(releases: GoRelease[], platform: string): string | undefined {
  let first: GoRelease | undefined;
  for (const r of releases) {
    if (r.parsed.isPrerelease || !r.stable) continue;
    if (!findGoArchive(r, platform)) continue;
    if (!first || r.parsed.compare(first.parsed) < 0) first = r;
  }
  return first?.version;
}

/** Fetch, select and pin. */
export async function resolveGoToolchain(opts: ResolveGoToolchainOptions): Promise<GoToolchainPin[]> {
  const releasesUrl = opts.releasesUrl ?? DEFAULT_GO_RELEASES_URL;
  const releases = await fetchGoReleases(opts.http, releasesUrl);
  let release: GoRelease;
  try {
    release = selectGoRelease(releases, opts.spec, { prerelease: opts.prerelease, source: releasesUrl });
  } catch (err) {
    // go.dev/dl/?mode=json without include=all lists only the two newest release lines.
    if (err instanceof GoToolchainError && err.code === 'E_GO_NO_MATCH' && /[?&]mode=json/.test(releasesUrl) && !/[?&]include=all/.test(releasesUrl)) {
      throw new GoToolchainError(`${err.message} (the releases URL lacks include=all, so it lists only the newest releases: add &include=all)`, {
        code: err.code,
        cause: err,
      });
    }
    throw err;
  }
  return pinGoRelease(release, opts.platforms, {
    downloadBaseUrl: opts.downloadBaseUrl ?? defaultGoDownloadBase(releasesUrl),
    releases,
    source: releasesUrl,
  });
}
