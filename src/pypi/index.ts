/**
 * PyPI standards, pure: PEP 440 versions/specifiers, PEP 508 requirements and markers, PEP 503
 * names, wheel file names and PEP 425/600 tags. No I/O.
 *
 * Public parse API (used by the environment reader and pyproject's [project] dependencies):
 * `parseRequirement(text)` → `Requirement` (throws `InvalidRequirement`, an InputError).
 */
export { canonicalName, isNormalizedName, isValidName } from './name.js';
export { InvalidMarker, Marker, type MarkerEnvironment } from './markers.js';
export { InvalidRequirement, formatRequirement, parseRequirement, type Requirement } from './requirement.js';
export { InvalidSpecifier, InvalidVersion, Pep440Version, Specifier, SpecifierSet, compareVersionStrings } from './version.js';
export {
  InvalidWheelFilename,
  TagRanking,
  isSdistFilename,
  macPlatforms,
  manylinuxPlatforms,
  parseWheelFilename,
  platformTags,
  supportedTags,
  type PlatformFacts,
  type TagTarget,
  type WheelFilename,
} from './wheel.js';
