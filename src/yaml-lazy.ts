/**
 * The `yaml` package, loaded on first use. Reading our own lockfile takes the fast reader
 * (src/lockfile/read-fast.ts) and never needs it, but a static import loaded it anyway at the start
 * of every `install`, `verify`, `tree` and `diff`: ~30 ms of the main thread before anything else could
 * run. (`require`, not `import()`: the readers that need it are synchronous; yaml is CommonJS.)
 */
import { createRequire } from 'node:module';
import type * as YamlModule from 'yaml';

let loaded: typeof YamlModule | undefined;

export function yaml(): typeof YamlModule {
  return (loaded ??= createRequire(import.meta.url)('yaml') as typeof YamlModule);
}
