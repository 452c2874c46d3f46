/**
 * Go release versions, ordered by Go's own rules (not conda's).
 *
 * Forms seen on go.dev/dl: `go1`, `go1.9`, `go1.9.2`, `go1.9.2rc2`, `go1.20rc1`, `go1.20beta1`,
 * `go1.21rc2`, `go1.21.0`. Until Go 1.20 the first release of a minor line was called `go1.X`;
 * from Go 1.21 on it is `go1.X.0`. Both mean "patch 0, final", so `1.20` and `1.20.0` compare equal
 * here. Pre-releases sort before the final release they lead to: `1.21rc2 < 1.21.0`,
 * `1.9.2rc2 < 1.9.2`, and `alpha < beta < rc`.
 */
import { GoToolchainError } from '../errors.js';

export type GoPrereleaseKind = 'alpha' | 'beta' | 'rc';

const PRE_RANK: Record<GoPrereleaseKind, number> = { alpha: 0, beta: 1, rc: 2 };

export class GoVersion {
  private constructor(
    /** The text without the `go` prefix, as published (`1.21rc2`, `1.20`, `1.22.5`). */
    readonly text: string,
    readonly major: number,
    readonly minor: number,
    /** Patch number; 0 when the name has none (`1.20`, `1.21rc2`). */
    readonly patch: number,
    /** Whether the name spelled a patch component (`1.21.0` yes, `1.20` no). */
    readonly hasPatch: boolean,
    readonly prerelease?: { kind: GoPrereleaseKind; n: number },
  ) {}

  /**
   * Each number has at most 9 digits (every real one has 1–2): a longer one is not a Go version, rather
   * than a number that rounds or overflows to Infinity (`1.Infinity.*`).
   */
  static readonly PATTERN = /^(?:go)?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:(alpha|beta|rc)(\d{1,9}))?$/;

  /** Parse `go1.22.5`, `1.22.5`, `go1.21rc2`, `go1`. Returns undefined when it is not a Go version. */
  static tryParse(s: string): GoVersion | undefined {
    const m = GoVersion.PATTERN.exec(s.trim());
    if (!m) return undefined;
    const [, maj, min, pat, kind, n] = m;
    // `go1.21.0rc1` does not exist and `1rc1` is not a thing: a pre-release hangs off major.minor or a patch.
    if (kind && min === undefined) return undefined;
    const text = s.trim().replace(/^go/, '');
    return new GoVersion(
      text,
      Number(maj),
      min === undefined ? 0 : Number(min),
      pat === undefined ? 0 : Number(pat),
      pat !== undefined,
      kind ? { kind: kind as GoPrereleaseKind, n: Number(n) } : undefined,
    );
  }

  static parse(s: string): GoVersion {
    const v = GoVersion.tryParse(s);
    if (!v) {
      throw new GoToolchainError(`'${s}' is not a Go version (expected e.g. 1.22.5, go1.22.5, 1.21rc2)`, {
        code: 'E_GO_VERSION',
      });
    }
    return v;
  }

  get isPrerelease(): boolean {
    return this.prerelease !== undefined;
  }

  /** `major.minor` line, e.g. `1.22`. */
  get line(): string {
    return `${this.major}.${this.minor}`;
  }

  compare(other: GoVersion): -1 | 0 | 1 {
    return compareGoVersions(this, other);
  }

  equals(other: GoVersion): boolean {
    return compareGoVersions(this, other) === 0;
  }

  /** `go1.22.5` — the name go.dev uses. */
  get goName(): string {
    return `go${this.text}`;
  }

  toString(): string {
    return this.text;
  }
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

export function compareGoVersions(a: GoVersion, b: GoVersion): -1 | 0 | 1 {
  const d = sign(a.major - b.major) || sign(a.minor - b.minor) || sign(a.patch - b.patch);
  if (d) return d;
  const ap = a.prerelease;
  const bp = b.prerelease;
  if (!ap && !bp) return 0;
  if (!ap) return 1; // final after any pre-release
  if (!bp) return -1;
  return sign(PRE_RANK[ap.kind] - PRE_RANK[bp.kind]) || sign(ap.n - bp.n);
}

/** Compare two version strings (with or without `go`); throws on a non-Go version. */
export function compareGoVersionStrings(a: string, b: string): -1 | 0 | 1 {
  return compareGoVersions(GoVersion.parse(a), GoVersion.parse(b));
}
