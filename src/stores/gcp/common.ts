import { SmcError } from '../../errors.js';
import { utf8Bytes } from '../../naming/limits.js';
import { nameProblem } from '../../naming/name.js';
import type { NamingRule } from '../../naming/rules.js';
import type { Action, ActionResult } from '../../plan/actions.js';
import { passiveResult } from '../../plan/results.js';
import { mapLimit } from '../map-limit.js';
import type { RetryPolicy } from '../retry.js';
import type { StoreLimits, StoreObserver, StoredEntry } from '../store.js';
import { gcpProviderError } from './errors.js';

/** Options both GCP stores take. */
export interface GcpStoreCommonOptions {
  projectId: string;
  /** `secrets.environment`: an `environment` label on every entry. */
  environment: string;
  /**
   * Endpoint override (`http://HOST:PORT` for an emulator, see `ENDPOINT_ENV`); default: the
   * documented environment variable, else Google's endpoint.
   */
  endpoint?: string;
  /** Service account key JSON (`auth.type: serviceAccountKey`); default ADC / Workload Identity. Never logged. */
  credentials?: string | object;
  /** Extra client constructor options, applied last (tests, proxies). */
  clientOptions?: object;
  observer?: StoreObserver;
  retryPolicy?: RetryPolicy;
  /** Write rate limit for the project; default 10/s (600 writes/min/project). */
  maxWritesPerSecond?: number;
  /** Entries read or applied in parallel. Default 4. */
  concurrency?: number;
}

/** Tracks whether an action changed the store, also when it fails half-way. */
export interface WriteLog {
  wrote: boolean;
}

/** The value of a version that exists but cannot be read (disabled): compared when it is enabled again. */
export const UNREADABLE = Symbol('unreadable');

export function checkProjectId(projectId: string): void {
  // Project ids are 6–30 of [a-z0-9-]; legacy domain-scoped ids carry `example.com:` in front.
  if (!/^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId)) {
    throw new SmcError('InvalidSpec', `GCP project id "${projectId}" is not valid`);
  }
}

export function checkLocation(location: string): void {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(location)) {
    throw new SmcError('InvalidSpec', `GCP location "${location}" is not valid`);
  }
}

/**
 * The failed result for an action the store refuses before any call: a name the store cannot hold,
 * or a value over its size limit. Undefined when the action may go ahead.
 */
export function refuseBeforeCall(
  action: Action,
  naming: NamingRule,
  limits: StoreLimits,
  what: string,
): ActionResult | undefined {
  const id = action.storeName;
  const problem = nameProblem(naming, id);
  if (problem !== undefined) {
    return { action, ok: false, wrote: false, message: `"${id}" is not a valid ${what} id: ${problem}` };
  }
  if (action.value !== undefined && utf8Bytes(action.value) > limits.maxValueBytes) {
    return {
      action,
      ok: false,
      wrote: false,
      message: `key "${action.key ?? id}" as "${id}" is ${utf8Bytes(action.value)} bytes, over the ${naming.store} limit of ${limits.maxValueBytes} bytes per value`,
    };
  }
  return undefined;
}

export function byStoreName(a: StoredEntry, b: StoredEntry): number {
  return a.storeName < b.storeName ? -1 : a.storeName > b.storeName ? 1 : 0;
}

/** The last segment of a resource name (`projects/p/secrets/ID` → `ID`). */
export function lastSegment(name: string | null | undefined): string {
  const n = name ?? '';
  return n.slice(n.lastIndexOf('/') + 1);
}

/**
 * The read both GCP stores make: the resources the owner's labels select (one filtered list),
 * plus each asked-for name that list did not return (an entry that lost its labels, or a
 * conflict), each turned into a StoredEntry; sorted by store name.
 */
export async function readResources<R>(o: {
  names: readonly string[];
  naming: NamingRule;
  concurrency: number;
  listOwned(): Promise<R[]>;
  get(id: string): Promise<R | undefined>;
  idOf(resource: R): string;
  toStored(resource: R): Promise<StoredEntry>;
}): Promise<StoredEntry[]> {
  const found = new Map<string, R>();
  for (const r of await o.listOwned()) found.set(o.idOf(r), r);
  const asked = [...new Set(o.names)].filter((n) => !found.has(n) && nameProblem(o.naming, n) === undefined);
  for (const r of await mapLimit(asked, o.concurrency, (n) => o.get(n))) {
    if (r) found.set(o.idOf(r), r);
  }
  const entries = await mapLimit([...found.values()], o.concurrency, (r) => o.toStored(r));
  return entries.sort(byStoreName);
}

/**
 * One action as both GCP stores apply it: noop/conflict answered without a call, a name or size
 * the store refuses failed before any call, else `create` or `converge`; a failure becomes a
 * value-free result that still says whether something was written.
 */
export async function applyGcpAction(
  action: Action,
  o: {
    naming: NamingRule;
    limits: StoreLimits;
    /** `GCP secret`, `GCP parameter`: for messages. */
    what: string;
    resourceName(id: string): string;
    create(log: WriteLog): Promise<string | undefined>;
    converge(log: WriteLog): Promise<string | undefined>;
  },
): Promise<ActionResult> {
  if (action.type === 'noop' || action.type === 'conflict') return passiveResult(action);
  const refused = refuseBeforeCall(action, o.naming, o.limits, o.what);
  if (refused) return refused;
  const log: WriteLog = { wrote: false };
  try {
    const version = action.type === 'create' ? await o.create(log) : await o.converge(log);
    return { action, ok: true, wrote: log.wrote, ...(version !== undefined ? { version } : {}) };
  } catch (e) {
    const message =
      e instanceof SmcError
        ? e.message
        : gcpProviderError('apply', o.resourceName(action.storeName), e).message;
    return { action, ok: false, wrote: log.wrote, message };
  }
}
