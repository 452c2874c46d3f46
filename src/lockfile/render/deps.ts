/**
 * Reading the name / version / build out of a repodata `depends` entry, for renderers.
 * Repodata depends are `name`, `name version` or `name version build` (sometimes `name>=1.2`,
 * `channel::name ...` or with `[key=value]` brackets); full MatchSpec parsing is not needed here.
 */

export interface DependencyParts {
  name: string;
  /** Version constraint, '' when none. */
  version: string;
  /** Build string constraint, '' when none. */
  build: string;
}

export function splitDependency(spec: string): DependencyParts {
  let s = spec.trim();
  const chan = s.lastIndexOf('::');
  if (chan >= 0) s = s.slice(chan + 2);
  const m = /^([A-Za-z0-9_][A-Za-z0-9_.+-]*)\s*(.*)$/.exec(s);
  if (!m) return { name: s, version: '', build: '' };
  const name = m[1]!;
  let rest = m[2]!.trim();
  if (rest.startsWith('[')) return { name, version: '', build: '' };
  const bracket = rest.indexOf('[');
  if (bracket >= 0) rest = rest.slice(0, bracket).trim();
  // `name=1.2=build` (the conda CLI form) as well as `name 1.2 build`.
  if (rest.startsWith('=') && !rest.startsWith('==')) {
    const [v = '', b = ''] = rest.slice(1).split('=');
    return { name, version: v, build: b };
  }
  const [version = '', build = ''] = rest.split(/\s+/);
  return { name, version, build };
}
