/**
 * The per-platform content hash stored in `metadata.content_hash`.
 *
 * It is the sha256 of a canonical JSON document of the inputs that can change the lock for one
 * platform: the platform, the channels (priority order, token- and credential-free; a channel with
 * `${VAR}` credentials as its template of variable names), the user's
 * specs (sorted, whitespace-normalised), the virtual packages assumed for that platform, channel
 * priority, the Go spec + release URL, and any `extra` inputs. `check` recomputes it from the
 * inputs and compares, so a stale lock is detected without network access.
 *
 * Not part of the hash: run time, tool version, the input file names, spec order.
 */
import { createHash } from 'node:crypto';
import { Channel } from '../conda/channel.js';
import { stripCredentials } from '../net/redact.js';

/** Bump when the hashed document changes shape: every lock then reads as stale once. */
export const CONTENT_HASH_SCHEME = 1;

export type VirtualPackageInput = string | { name: string; version: string; build?: string; build_string?: string };

export interface ContentHashInputs {
  platform: string;
  /**
   * Channel names or URLs (tokens are stripped), or Channel objects; in priority order. A channel
   * written with `${VAR}` credentials counts as its template (variable names, never values), so a
   * rotated token does not make the lock stale.
   */
  channels: ReadonlyArray<string | { baseUrl: string; urlTemplate?: string }>;
  /** The user's conda specs (canonical MatchSpec strings), any order. */
  specs: readonly string[];
  /** Virtual packages assumed for this platform (`name version build` or records). */
  virtualPackages: readonly VirtualPackageInput[];
  channelPriority?: 'strict' | 'disabled' | 'flexible';
  /** `cgo: false` counts only when given, so older locks keep their hashes. */
  go?: { spec: string; releases_url: string; prerelease?: boolean; cgo?: false; download_base_url?: string };
  /** Other inputs that affect this platform's lock (pins, solver options ...). */
  extra?: Record<string, string | number | boolean | null | readonly string[]>;
}

/**
 * A canonical channel URL: names resolved against the default alias, no token, no credentials, no
 * trailing slash; for a channel with `${VAR}` credentials its template (`https://host/t/${TOKEN}/chan`).
 */
export function canonicalChannelUrl(ch: string | { baseUrl: string; urlTemplate?: string }): string {
  if (typeof ch !== 'string') return ch.urlTemplate ?? stripCredentials(ch.baseUrl).replace(/\/+$/, '');
  try {
    const c = Channel.parse(ch);
    return c.urlTemplate ?? c.baseUrl;
  } catch {
    return stripCredentials(ch.trim()).replace(/\/+$/, '');
  }
}

function vpString(v: VirtualPackageInput): string {
  if (typeof v === 'string') return v.trim().replace(/\s+/g, ' ');
  return [v.name, v.version, v.build ?? v.build_string ?? '0'].join(' ');
}

function normSpec(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => cmp(a, b));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The normalised document that is hashed (exported for debugging `check`). */
export function contentHashDocument(inputs: ContentHashInputs): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    scheme: CONTENT_HASH_SCHEME,
    platform: inputs.platform,
    channels: inputs.channels.map(canonicalChannelUrl),
    specs: [...new Set(inputs.specs.map(normSpec))].sort(cmp),
    virtual_packages: [...new Set(inputs.virtualPackages.map(vpString))].sort(cmp),
    channel_priority: inputs.channelPriority ?? 'strict',
  };
  if (inputs.go) {
    doc.go = { spec: inputs.go.spec.trim(), releases_url: stripCredentials(inputs.go.releases_url), prerelease: inputs.go.prerelease ?? false };
    if (inputs.go.cgo === false) (doc.go as Record<string, unknown>).cgo = false;
    if (inputs.go.download_base_url) (doc.go as Record<string, unknown>).download_base_url = stripCredentials(inputs.go.download_base_url);
  }
  if (inputs.extra && Object.keys(inputs.extra).length > 0) doc.extra = inputs.extra;
  return doc;
}

/** sha256 hex of the canonical inputs for one platform. */
export function computeContentHash(inputs: ContentHashInputs): string {
  return createHash('sha256').update(canonicalJson(contentHashDocument(inputs)), 'utf8').digest('hex');
}
