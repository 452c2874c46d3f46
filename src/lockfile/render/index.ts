/**
 * The render formats, in one table: the CLI's `render --kind` choices, its help text and the
 * rendering itself all come from RENDERERS, so adding a format is one entry here (plus its module).
 *
 * Renderer modules are imported when used: the CLI reads this table at startup.
 */
import type { Lockfile } from '../model.js';

export interface RenderRequest {
  lockfile: Lockfile;
  /** Platforms to render (all in the lockfile unless the user picked some). */
  platforms: readonly string[];
  /** Hash appended to @EXPLICIT URLs. */
  hash: 'sha256' | 'md5';
}

export interface RenderedFile {
  /** File name used when -o names a directory or is not given. */
  defaultName: string;
  text: string;
}

export interface Renderer {
  /** What the format is, for help texts. */
  description: string;
  /** The default file name, as shown in help (`<platform>` stands for each platform). */
  fileName: string;
  render(req: RenderRequest): Promise<RenderedFile[]>;
}

const perPlatform = (name: string, p: string) => name.replace('<platform>', p);

export const RENDERERS = {
  explicit: {
    description: '@EXPLICIT files',
    fileName: 'conda-<platform>.lock',
    async render({ lockfile, platforms, hash }) {
      const { renderExplicit } = await import('./explicit.js');
      return platforms.map((p) => ({ defaultName: perPlatform('conda-<platform>.lock', p), text: renderExplicit(lockfile, p, { hash }) }));
    },
  },
  'conda-lock': {
    description: 'a conda-lock v1 file',
    fileName: 'conda-lock.yml',
    async render({ lockfile, platforms }) {
      const { renderCondaLockV1 } = await import('./conda-lock.js');
      const pick = <V>(rec: Record<string, V>) => Object.fromEntries(Object.entries(rec).filter(([p]) => platforms.includes(p)));
      const subset: Lockfile = {
        ...lockfile,
        metadata: {
          ...lockfile.metadata,
          platforms: [...platforms],
          content_hash: pick(lockfile.metadata.content_hash),
          virtual_packages: pick(lockfile.metadata.virtual_packages),
        },
        packages: lockfile.packages.filter((p) => platforms.includes(p.platform)),
      };
      if (lockfile.pypi) subset.pypi = lockfile.pypi.filter((p) => platforms.includes(p.platform));
      return [{ defaultName: 'conda-lock.yml', text: renderCondaLockV1(subset) }];
    },
  },
  env: {
    description: 'a pinned environment.yml',
    fileName: 'environment.<platform>.yml',
    async render({ lockfile, platforms }) {
      const { renderEnvironmentYaml } = await import('./env.js');
      return platforms.map((p) => ({ defaultName: perPlatform('environment.<platform>.yml', p), text: renderEnvironmentYaml(lockfile, p) }));
    },
  },
  requirements: {
    description: 'a hash-pinned pip requirements file of the PyPI wheels',
    fileName: 'requirements.<platform>.txt',
    async render({ lockfile, platforms }) {
      const { renderRequirements } = await import('./requirements.js');
      return platforms.map((p) => ({ defaultName: perPlatform('requirements.<platform>.txt', p), text: renderRequirements(lockfile, p) }));
    },
  },
} as const satisfies Record<string, Renderer>;

export type RenderKind = keyof typeof RENDERERS;

/** The kinds, in table order (the first is the default). */
export const RENDER_KINDS = Object.keys(RENDERERS) as RenderKind[];
