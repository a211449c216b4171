/**
 * `secret-manager-controller/reload`: hot reload for applications that read secrets from a mounted
 * directory (a Kubernetes Secret volume, or this project's `local` store).
 *
 * - `watchSecretDir`: fs.watch on the directory, survives the kubelet's `..data` swap, debounced,
 *   content-compared, one callback per real change, polling as a safety net;
 * - `pollForChanges`: the same, by polling only;
 * - `readSecretDir`: read all keys as one consistent version (for loaders);
 * - `onSighup` / `onSignal`: serialised reload on a signal (e.g. from `msmctl reloader`);
 * - `reloadHandler` / `reloadRoute`: `POST /reload` with an optional bearer token;
 * - `createReloadable`: validate, swap atomically, keep the old values on failure, report outcomes.
 *
 * Nothing here logs, returns or counts a secret value or a digest of one: callbacks get key names,
 * and the values only through `SecretChange.files` or the application's own loader.
 *
 * This module depends on nothing but Node's standard library, the project's error type and the
 * kubelet volume contract it shares with the local store (src/kubelet-volume.ts, `..data`).
 */
export { watchSecretDir } from './watch-secret-dir.js';
export type {
  ChangeListener,
  ChangeTrigger,
  ErrorListener,
  SecretChange,
  SecretWatcher,
  WatchSecretDirOptions,
} from './watch-secret-dir.js';
export { pollForChanges } from './poll.js';
export type { PollOptions } from './poll.js';
export { readSecretDir } from './read-secret-dir.js';
export { defaultKeyFilter } from './snapshot.js';
export type { DirLayout, KeyFilter } from './snapshot.js';
export { onSighup, onSignal } from './sighup.js';
export type { SignalReloadOptions } from './sighup.js';
export { createReloadEndpoint, reloadHandler, reloadRoute } from './http.js';
export type {
  FrameworkReply,
  ReloadEndpointOptions,
  ReloadRequest,
  ReloadResponse,
  ReloadResponseBody,
} from './http.js';
export { createReloadable, ReloadValidationError } from './reloadable.js';
export type { ReloadFailure, ReloadOutcome, ReloadSuccess, Reloadable, Validate } from './reloadable.js';
export { describeError } from './describe-error.js';
export { SmcError, isSmcError } from '../../errors.js';
