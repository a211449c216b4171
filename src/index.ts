/**
 * The pipeline as a library: source → render → decrypt → name → plan → apply, with no Kubernetes
 * dependency. The controller and `msmctl` are thin drivers over these exports.
 */
export type { Entry, EntryKind, NamedEntry } from './entry.js';
export { SmcError, isSmcError, type ErrorCode } from './errors.js';
export {
  sync,
  renderSource,
  type SyncRequest,
  type SyncResult,
  type EntryOutcome,
  type RenderMode,
} from './sync.js';
export { openLocalSource } from './source/local.js';
export type { SourceCheckout } from './source/source.js';
export {
  createKeyring,
  keyringFromFiles,
  decryptSops,
  formatFromPath,
  isSopsEncrypted,
} from './sops/index.js';
export type { SopsFormat, SopsKeyring } from './sops/index.js';
export { planActions } from './plan/plan.js';
export type { Action, ActionResult, ActionType, DeletionPolicy } from './plan/actions.js';
export { LocalDirStore } from './stores/local/index.js';
export type { SecretStore, StoredEntry, Owner, StoreObserver } from './stores/store.js';
export { VERSION } from './version.js';
