/**
 * src/install/wheel: install, verify and remove PyPI wheels in a conda prefix (issue 12).
 * See docs/install.md "PyPI wheels".
 */
export { installWheel, INSTALLER_NAME, type DirectUrl, type InstallWheelOptions, type InstalledWheel, type InstalledWheelFile } from './install.js';
export { listInstalledWheels, listInstalledWheelsIn, readInstalledRecord, uninstallWheel, verifyWheel } from './uninstall.js';
export type { InstalledDistInfo, RecordedFile, UninstallResult, WheelProblem, WheelProblemKind } from './uninstall.js';
export { wheelLayout, type WheelLayout, type WheelTarget } from './layout.js';
export { defaultEntryPointWriter, type EntryPointWriter, type GeneratedFile, type WheelEntryPoint } from './entry-points.js';
export { fetchWheels, installLockedWheels, readWheelState, removeUnlockedWheels, syncWheels, wheelsUpToDate, WHEEL_STATE_FILE } from './sync.js';
export type { SyncWheelsOptions, SyncWheelsResult, WheelPin, WheelStateEntry } from './sync.js';
export { formatRecord, parseRecord, recordHash, type RecordRow } from './record.js';
