import { SmcError } from '../../errors.js';
import { nameProblem } from '../../naming/name.js';
import type { NamingRule } from '../../naming/rules.js';
import type { Action, ActionResult, CreateAction, UpdateAction, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { type StoreBasics, type WriteLog, applyActions, sizeRefusal, versioned } from '../apply.js';
import { mapLimit } from '../map-limit.js';
import { type ClientLease, ownClient } from '../client-cache.js';
import { ownerFromTags } from '../ownership.js';
import type { RetryPolicy } from '../retry.js';
import { type Owner, type StoreObserver, type StoredEntry, byStoreName } from '../store.js';
import { GcpCaller, listAll, projectWriteBucket } from './calls.js';
import { type GcpService, gcpClientOptions } from './client-options.js';
import { GcpProviderError, gcpProviderError } from './errors.js';
import { ownerFilter } from './labels.js';

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
  /** A shared client (src/stores/client-cache.ts); default: the store builds and closes its own. */
  client?: ClientLease;
}

export type { WriteLog };

/** What a GCP store talks through: its client (shared or its own), how to give it back, and the caller. */
export interface GcpConnection<C> {
  client: C;
  release: () => unknown;
  caller: GcpCaller;
}

/** The client (`construct` from the options for `api`), leased or the store's own, and the project's caller. */
export function connectGcp<C extends { close(): Promise<void> }>(
  api: GcpService,
  options: GcpStoreCommonOptions,
  location: string | undefined,
  construct: (clientOptions: Record<string, unknown>) => C,
): GcpConnection<C> {
  const make = () =>
    construct(
      gcpClientOptions(api, {
        location,
        endpoint: options.endpoint,
        credentials: options.credentials,
        clientOptions: options.clientOptions,
      }),
    );
  const lease = options.client ? options.client(make, (c) => c.close()) : ownClient(make(), (c) => c.close());
  const caller = new GcpCaller({
    observer: options.observer,
    retryPolicy: options.retryPolicy,
    bucket: projectWriteBucket(api, options.projectId, options.maxWritesPerSecond),
  });
  return { client: lease.client, release: lease.release, caller };
}

interface ListRequest {
  parent?: string | null;
  filter?: string | null;
  pageSize?: number | null;
  pageToken?: string | null;
}

/**
 * The resources under `parent` whose labels name `owner`: listed with the owner filter, and filtered
 * again here (emulators ignore the filter, and it must be exact).
 */
export async function listOwned<R extends { labels?: Record<string, string> | null }>(
  caller: GcpCaller,
  operation: string,
  parent: string,
  owner: Owner,
  fetch: (request: ListRequest) => Promise<[R[], ListRequest | null, unknown]>,
): Promise<R[]> {
  const first: ListRequest = { parent, filter: ownerFilter(owner), pageSize: 1000 };
  const out = await listAll(caller, operation, parent, first, fetch);
  return out.filter((r) => sameOwner(ownerFromTags(r.labels ?? undefined), owner));
}

/**
 * Run a create call. False when the resource already exists and this is the first try: ours from a
 * retried or concurrent create (the caller converges it instead), or someone else's (refused there).
 */
export async function created(run: () => Promise<unknown>, log: WriteLog, depth: number): Promise<boolean> {
  try {
    await run();
    log.wrote = true;
    return true;
  } catch (e) {
    if (e instanceof GcpProviderError && e.status === 'ALREADY_EXISTS' && depth === 0) return false;
    throw e;
  }
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

/** The value-free message for a failure of an action on the GCP resource `name`. */
export function gcpFailure(e: unknown, name: string): string {
  return e instanceof SmcError ? e.message : gcpProviderError('apply', name, e).message;
}

/**
 * `apply` as both GCP stores run it: `create` makes the resource (and its first version), every
 * other verb brings the existing one to what the action asks (`converge`).
 */
export function applyGcpActions(
  actions: readonly Action[],
  o: StoreBasics & {
    resourceName(id: string): string;
    create(action: CreateAction, log: WriteLog): Promise<string | undefined>;
    converge(action: WriteAction, log: WriteLog): Promise<string | undefined>;
  },
): Promise<ActionResult[]> {
  const converge = (a: WriteAction, log: WriteLog) => o.converge(a, log).then(versioned);
  return applyActions(actions, {
    naming: o.naming,
    nameKind: o.nameKind,
    concurrency: o.concurrency,
    refuse: (a) => sizeRefusal(a, o.limits),
    handlers: {
      create: (a, log) => o.create(a, log).then(versioned),
      update: converge,
      enable: converge,
      disable: converge,
      prune: converge,
    },
    failure: (e, a) => gcpFailure(e, o.resourceName(a.storeName)),
  });
}

/**
 * A converge that finds no resource: nothing to do for a prune; an update on its first try creates it
 * (it went away since the plan); anything else fails as NotFound.
 */
export async function convergeMissing(
  action: WriteAction,
  depth: number,
  where: string,
  create: (action: UpdateAction) => Promise<string | undefined>,
): Promise<string | undefined> {
  if (action.type === 'prune') return undefined; // already gone
  if (action.type === 'update' && depth === 0) return create(action);
  throw new SmcError('NotFound', `"${action.storeName}" does not exist in ${where}`);
}
