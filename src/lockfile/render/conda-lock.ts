/**
 * A conda-lock v1 lockfile (`conda-lock.yml`, `version: 1`), for tools that read that format
 * (`conda-lock install`, micromamba `-f conda-lock.yml`).
 *
 * Shape and key order follow what conda-lock itself writes:
 *   version, metadata {content_hash, channels [{url, used_env_vars}], platforms, sources},
 *   package [{name, version, manager, platform, dependencies {name: version}, url, hash {md5, sha256},
 *             category, optional}]
 * `dependencies` maps each depended-on name to its version constraint ('' when none); conda-lock
 * drops the build part the same way. The Go toolchain has no place in that format and is left out.
 * A package in several categories is written once per category (main first, then the others
 * sorted), `optional: true` outside main: what conda-lock writes and what micromamba and
 * `conda-lock install --dev / -E NAME` select on.
 */
import { Document, Scalar, visit, isPair, isScalar } from 'yaml';
import type { Lockfile } from '../model.js';
import { comparePackages } from '../normalise.js';
import { isAmbiguousPlainScalar } from '../write.js';
import { packageCategories } from '../categories.js';
import { splitDependency } from './deps.js';

export interface CondaLockV1Package {
  name: string;
  version: string;
  /** `pip` for PyPI wheels (conda-lock's own spelling). */
  manager: 'conda' | 'pip';
  platform: string;
  dependencies: Record<string, string>;
  url: string;
  /** conda-lock writes only sha256 for pip entries. */
  hash: { md5?: string; sha256: string };
  category: string;
  optional: boolean;
}

export interface CondaLockV1 {
  version: 1;
  metadata: {
    content_hash: Record<string, string>;
    channels: Array<{ url: string; used_env_vars: string[] }>;
    platforms: string[];
    sources: string[];
  };
  package: CondaLockV1Package[];
}

/** The conda-lock v1 document as plain data. */
export function toCondaLockV1(lockfile: Lockfile): CondaLockV1 {
  const pkgs = [...lockfile.packages].sort(comparePackages);
  return {
    version: 1,
    metadata: {
      content_hash: Object.fromEntries(
        Object.keys(lockfile.metadata.content_hash)
          .sort()
          .map((p) => [p, lockfile.metadata.content_hash[p]!]),
      ),
      // Like conda-lock: a private channel is written with its variables (conda expands `${VAR}` itself).
      channels: lockfile.metadata.channels.map((c) =>
        c.url_template ? { url: c.url_template, used_env_vars: [...(c.used_env_vars ?? [])] } : { url: c.url, used_env_vars: [] },
      ),
      platforms: [...lockfile.metadata.platforms].sort(),
      sources: [...lockfile.metadata.sources],
    },
    package: [pkgs.flatMap((p): CondaLockV1Package[] => {
      const dependencies: Record<string, string> = {};
      for (const d of [...p.depends].sort()) {
        const parts = splitDependency(d);
        if (!(parts.name in dependencies)) dependencies[parts.name] = parts.version;
      }
      const cats = [...packageCategories(p)].sort((a, b) => (a === 'main' ? -1 : b === 'main' ? 1 : a < b ? -1 : a > b ? 1 : 0));
      return cats.map((category) => ({
        name: p.name,
        version: p.version,
        manager: 'conda' as const,
        platform: p.platform,
        dependencies,
        url: p.url,
        hash: { md5: p.md5, sha256: p.sha256 },
        category,
        optional: category !== 'main',
      }));
    }),
    // PyPI wheels as conda-lock's `manager: pip` entries (dependencies: name → specifier, markers dropped
    // like conda-lock does for the ones that do not apply to the platform).
    ...(lockfile.pypi ?? [])
      .filter((p) => lockfile.metadata.platforms.includes(p.platform))
      .flatMap((p) => {
        const dependencies: Record<string, string> = {};
        for (const d of p.requires_dist) {
          const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;)]*)\)?\s*(;.*)?$/.exec(d);
          if (!m || (m[3] && /extra\s*==/.test(m[3]))) continue;
          const name = m[1]!.toLowerCase().replace(/[-_.]+/g, '-');
          if (!(name in dependencies)) dependencies[name] = m[2]!.trim() || '*';
        }
        const cats = [...packageCategories(p)].sort((a, b) => (a === 'main' ? -1 : b === 'main' ? 1 : a < b ? -1 : a > b ? 1 : 0));
        return cats.map((category) => ({
          name: p.name,
          version: p.version,
          manager: 'pip' as const,
          platform: p.platform,
          dependencies,
          url: p.url,
          hash: { sha256: p.sha256 },
          category,
          optional: category !== 'main',
        }));
      }),
  ].flat() as CondaLockV1Package[],
  };
}

export function renderCondaLockV1(lockfile: Lockfile): string {
  const doc = new Document(toCondaLockV1(lockfile));
  visit(doc, {
    Scalar(key, node, path) {
      if (typeof node.value !== 'string') return;
      const parent = path[path.length - 1];
      const k = key === 'value' && isPair(parent) && isScalar(parent.key) ? parent.key.value : undefined;
      if (k === 'version' || isAmbiguousPlainScalar(node.value)) node.type = Scalar.QUOTE_SINGLE;
    },
  });
  doc.commentBefore =
    ' Generated by conda-go-lock in conda-lock v1 format. Do not edit by hand.\n' +
    ' Install with: conda-lock install -n ENV conda-lock.yml (or micromamba create -n ENV -f conda-lock.yml)';
  return doc.toString({ lineWidth: 0, indentSeq: false, singleQuote: true });
}
