/**
 * `-w` for msmctl's list and status: follows SecretManagerConfigs after the first read, the way
 * `kubectl get -w` does. One apiserver watch from the list's resourceVersion; when the connection
 * drops it resumes from the last version seen, and when that version has expired (410 Gone) it
 * lists again and reports only what differs from what it had. Stops when the signal aborts.
 * client-node's `Watch` streams the events; client-node's `ListWatch` is not used because it
 * restarts from a full list on every drop and hides the deletions it missed inside its cache.
 */
import { Watch } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION_NAME, PLURAL } from '../api/index.js';
import { apiStatus, CliExit, EXIT_NOT_FOUND, failWith, type KubeContext } from './kube.js';
import { NOT_SERVED, type SmcObject } from './smc-api.js';

export type SmcEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface SmcWatchScope {
  /** One namespace, or every namespace when undefined. */
  namespace?: string;
  /** One SMC by name (status -w), or all of the scope (list -w). */
  name?: string;
}

export interface SmcListing {
  items: SmcObject[];
  resourceVersion: string;
}

/** Pause before resuming after a dropped connection, so a down apiserver is not hammered. */
const RESUME_DELAY_MS = 1_000;

const collectionPath = (scope: SmcWatchScope) =>
  scope.namespace
    ? `/apis/${API_GROUP}/${API_VERSION_NAME}/namespaces/${scope.namespace}/${PLURAL}`
    : `/apis/${API_GROUP}/${API_VERSION_NAME}/${PLURAL}`;

const fieldSelector = (scope: SmcWatchScope): Record<string, string> =>
  scope.name ? { fieldSelector: `metadata.name=${scope.name}` } : {};

const keyOf = (smc: SmcObject) => `${smc.metadata.namespace}/${smc.metadata.name}`;

/** The scope's SMCs and the collection's resourceVersion, the point a watch starts from. */
export async function listForWatch(k: KubeContext, scope: SmcWatchScope): Promise<SmcListing> {
  try {
    const list = await k.raw.request<{ items: SmcObject[]; metadata: { resourceVersion: string } }>(
      'GET',
      collectionPath(scope),
      { query: fieldSelector(scope) },
    );
    return { items: list.items, resourceVersion: list.metadata.resourceVersion };
  } catch (e) {
    // The same answers as `msmctl list` (exit 3 when the CRD is not installed).
    if (apiStatus(e) === 404) throw new CliExit(EXIT_NOT_FOUND, NOT_SERVED);
    failWith(e, scope.namespace ? `secretmanagerconfigs in ${scope.namespace}` : 'secretmanagerconfigs');
  }
}

/**
 * Calls `onEvent` for every change after `from` until `signal` aborts. Errors that a retry cannot
 * cure (403, 404: the API or the permission went away) end the watch by rejecting.
 */
export async function followSmcs(
  k: KubeContext,
  scope: SmcWatchScope,
  from: SmcListing,
  onEvent: (type: SmcEventType, smc: SmcObject) => void,
  signal: AbortSignal,
): Promise<void> {
  const known = new Map(from.items.map((s) => [keyOf(s), s]));
  let resourceVersion = from.resourceVersion;
  const watch = new Watch(k.kc);

  const emit = (type: SmcEventType, smc: SmcObject) => {
    if (type === 'DELETED') known.delete(keyOf(smc));
    else known.set(keyOf(smc), smc);
    onEvent(type, smc);
  };

  /** After 410 Gone: list again and report the difference from what was known. */
  const relist = async () => {
    const now = await listForWatch(k, scope);
    const seen = new Set<string>();
    for (const smc of now.items) {
      seen.add(keyOf(smc));
      const before = known.get(keyOf(smc));
      if (!before) emit('ADDED', smc);
      else if (before.metadata.resourceVersion !== smc.metadata.resourceVersion) emit('MODIFIED', smc);
    }
    for (const [key, smc] of [...known]) if (!seen.has(key)) emit('DELETED', smc);
    resourceVersion = now.resourceVersion;
  };

  while (!signal.aborted) {
    // One watch request: resolves when the stream ends (server timeout, dropped connection, abort).
    const outcome = await new Promise<'ended' | 'expired' | Error>((resolve) => {
      let settled = false;
      const settle = (v: 'ended' | 'expired' | Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      let controller: AbortController | undefined;
      const onAbort = () => {
        controller?.abort();
        settle('ended');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      watch
        .watch(
          collectionPath(scope),
          { ...fieldSelector(scope), resourceVersion, allowWatchBookmarks: true },
          (type: string, obj: unknown) => {
            if (type === 'ERROR') {
              const code = (obj as { code?: number }).code;
              settle(code === 410 ? 'expired' : new Error((obj as { message?: string }).message));
              controller?.abort();
              return;
            }
            const smc = obj as SmcObject;
            const rv = smc.metadata?.resourceVersion;
            if (rv) resourceVersion = rv;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') emit(type, smc);
          },
          (err: unknown) =>
            settle(err && !(err instanceof Error && err.name === 'AbortError') ? toError(err) : 'ended'),
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        })
        .catch((e: unknown) => settle(toError(e)));
    });
    if (signal.aborted) return;
    if (outcome === 'expired') {
      await relist();
      continue;
    }
    if (outcome instanceof Error) {
      const status = apiStatus(outcome) ?? statusOf(outcome);
      if (status === 403 || status === 404) throw outcome;
      if (status === 410) {
        await relist();
        continue;
      }
      // client-node ends a watch that was silent for 30 s: resume at once, nothing went wrong.
      if (outcome.name === 'TimeoutError') continue;
    }
    await pause(RESUME_DELAY_MS, signal);
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** client-node's Watch rejects a non-200 answer with `statusCode` on the error. */
function statusOf(e: Error): number | undefined {
  const code = (e as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** An AbortSignal that aborts on the first SIGINT or SIGTERM (and stops listening then). */
export function abortOnSignals(): { signal: AbortSignal; abort: () => void; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  controller.signal.addEventListener('abort', dispose, { once: true });
  return { signal: controller.signal, abort: () => controller.abort(), dispose };
}
