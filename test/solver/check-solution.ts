/**
 * An independent validator for solver results: every requested spec, every depends and every
 * constrains must hold, with exactly one record per name, all taken from the given candidates.
 */
import { MatchSpec } from '../../src/conda/matchspec.js';
import type { PackageRecord, RepoDataRecord } from '../../src/conda/record.js';

export function checkSolution(
  solution: readonly RepoDataRecord[],
  opts: { specs: readonly MatchSpec[]; records: readonly RepoDataRecord[]; virtualPackages: readonly PackageRecord[]; pinned?: readonly MatchSpec[] },
): string[] {
  const problems: string[] = [];
  const byName = new Map<string, PackageRecord>();
  for (const r of solution) {
    if (byName.has(r.name)) problems.push(`two records for ${r.name}`);
    byName.set(r.name, r);
    if (r.name.startsWith('__')) problems.push(`virtual package ${r.name} in the result`);
  }
  const known = new Set(opts.records);
  for (const r of solution) if (!known.has(r)) problems.push(`${r.fn} is not one of the candidate records`);
  for (const v of opts.virtualPackages) if (!byName.has(v.name)) byName.set(v.name, v);
  const parse = (s: string) => MatchSpec.parse(s);
  const satisfied = (spec: MatchSpec) => {
    const r = byName.get(spec.name);
    return r !== undefined && spec.matches(r);
  };
  for (const s of opts.specs) if (!satisfied(s)) problems.push(`requested ${s} is not satisfied`);
  for (const s of opts.pinned ?? []) {
    const r = byName.get(s.name);
    if (r && !s.matches(r)) problems.push(`pinned ${s} is violated by ${r.name} ${r.version}`);
  }
  for (const r of solution) {
    for (const d of r.depends) if (!satisfied(parse(d))) problems.push(`${r.name} ${r.version} ${r.build}: depends ${d} is not satisfied`);
    for (const c of r.constrains ?? []) {
      const spec = parse(c);
      const other = byName.get(spec.name);
      if (other && !spec.matches(other)) problems.push(`${r.name} ${r.version}: constrains ${c} violated by ${other.version}`);
    }
  }
  // Nothing superfluous: every record is requested or required by another chosen record.
  const needed = new Set<string>(opts.specs.map((s) => s.name));
  for (const r of solution) for (const d of r.depends) needed.add(parse(d).name);
  for (const r of solution) if (!needed.has(r.name)) problems.push(`${r.name} is installed but nothing needs it`);
  return problems;
}
