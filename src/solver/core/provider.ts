/**
 * The contract between the generic CDCL core and a package ecosystem.
 *
 * The core knows nothing about conda: it sees package names, solvables (one concrete
 * candidate, e.g. one build of one version) and version sets (a requirement on one name,
 * e.g. a MatchSpec) as small integers handed out by the provider. It asks the provider
 * lazily, only for the names reachable from the root requirements.
 */

export type NameId = number;
export type SolvableId = number;
export type VersionSetId = number;

export interface Candidates {
  /** Every installable solvable of the name, best first. */
  candidates: SolvableId[];
  /** A solvable to try before every other one (a locked/installed record). Must be in `candidates`. */
  favored?: SolvableId;
}

export interface Dependencies {
  /** Each requirement must be satisfied by one of its matching candidates. */
  requires: VersionSetId[];
  /** If the version set's name is installed at all, the installed solvable must match. */
  constrains: VersionSetId[];
}

export interface DependencyProvider {
  /**
   * Optional: every solvable's dependencies can be had cheaply (no I/O, no restart), as with conda
   * repodata, where they are part of the record. The core then decides requirements in breadth-first
   * discovery order of the candidate graph (resolvo's order when the provider hints the same) and
   * may call `dependencies` for candidates it never installs. Otherwise `dependencies` is called
   * only for solvables about to be chosen, and requirements are decided in the order their parents
   * were encoded.
   */
  readonly dependenciesAtHand?: boolean;
  /** The candidates of a name, or an empty list when no channel has it. Called once per name. */
  candidates(name: NameId): Candidates;
  /** Dependencies of a solvable. Called once per solvable when it is about to be chosen (see `dependenciesAtHand`). */
  dependencies(solvable: SolvableId): Dependencies;
  /**
   * The candidates (a subset of `candidates(versionSetName(vs))`) that match the version set,
   * or with `inverse` those that do not. Must keep the input order.
   */
  filterCandidates(vs: VersionSetId, candidates: readonly SolvableId[], inverse: boolean): SolvableId[];
  /**
   * Optional: reorder the matching candidates of one requirement, best first (ties broken with
   * knowledge only the provider has). Called once per version set. Default: keep the name's order.
   */
  sortCandidates?(vs: VersionSetId, candidates: SolvableId[]): SolvableId[];
  versionSetName(vs: VersionSetId): NameId;
  solvableName(solvable: SolvableId): NameId;

  displayName(name: NameId): string;
  /** e.g. `python 3.9.19 h0755675_0_cpython` */
  displaySolvable(solvable: SolvableId): string;
  /** A shorter label used when several solvables of one name are listed together, e.g. `3.9.19`. */
  displaySolvableVersion(solvable: SolvableId): string;
  /** e.g. `openssl >=3.2,<4.0a0` */
  displayVersionSet(vs: VersionSetId): string;

  /** Return a message to abort the solve (timeouts). Polled now and then. */
  shouldCancel?(): string | undefined;
}
