import { SmcError } from '../../errors.js';
import { utf8Bytes } from '../../naming/limits.js';
import { nameProblem } from '../../naming/name.js';
import type { NamingRule } from '../../naming/rules.js';
import type { Action, ActionResult } from '../../plan/actions.js';
import type { RetryPolicy } from '../retry.js';
import type { StoreLimits, StoreObserver, StoredEntry } from '../store.js';

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
