/**
 * `install -n NAME`: where a named environment lives, as conda / micromamba resolve names.
 *
 * The first that is set wins (docs/install.md#named-environments):
 *   1. `$CONDA_GO_LOCK_ENVS_DIR/NAME`
 *   2. the first entry of `$CONDA_ENVS_PATH` (conda's envs_dirs variable; `:`-separated, `;` on
 *      Windows) + `/NAME`
 *   3. `$MAMBA_ROOT_PREFIX/envs/NAME` (micromamba's root)
 *   4. `~/.conda/envs/NAME` (conda's per-user envs directory)
 * A name is one path component of letters, digits, `.`, `_`, `-` (conda refuses `/`, spaces, `:`
 * and `#`); `base` is refused: that is conda's own installation, never ours to replace.
 */
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { UsageError } from '../errors.js';

export function namedEnvironmentPrefix(name: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): { prefix: string; rule: string } {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') {
    throw new UsageError(`-n ${JSON.stringify(name)}: an environment name is letters, digits, '.', '_' and '-' (no '/', spaces, ':' or '#'); use -p DIR for a path`);
  }
  if (name === 'base') throw new UsageError("-n base is conda's own installation; name another environment, or use -p DIR");
  if (env.CONDA_GO_LOCK_ENVS_DIR) return { prefix: join(env.CONDA_GO_LOCK_ENVS_DIR, name), rule: '$CONDA_GO_LOCK_ENVS_DIR' };
  const envsPath = (env.CONDA_ENVS_PATH ?? '').split(delimiter).find((p) => p.trim() !== '');
  if (envsPath) return { prefix: join(envsPath, name), rule: '$CONDA_ENVS_PATH' };
  if (env.MAMBA_ROOT_PREFIX) return { prefix: join(env.MAMBA_ROOT_PREFIX, 'envs', name), rule: '$MAMBA_ROOT_PREFIX/envs' };
  return { prefix: join(home, '.conda', 'envs', name), rule: '~/.conda/envs' };
}
