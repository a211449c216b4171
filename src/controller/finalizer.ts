/**
 * The SecretManagerConfig finalizer (docs/crd-reference.md `deletionPolicy`, docs/providers.md "Deletion"). An SMC whose
 * `deletionPolicy` is `Disable` or `Delete` carries `secret-management.octopilot.io/finalizer`, added
 * by its first reconcile; when it is deleted, every store entry it owns is disabled or deleted, and
 * only then is the finalizer removed. A failure keeps the finalizer (the object stays, with
 * `Ready=False` and an Event) and is retried.
 *
 * An SMC with `Retain` (the default) carries none: its deletion has nothing to do, so it never waits
 * for the controller (a namespace deletes even with the controller uninstalled), and a new SMC costs
 * the API server one write fewer (docs/performance.md). A reconcile removes the finalizer when the
 * policy becomes `Retain` (or an earlier version added it) and adds it when the policy stops being so.
 *
 * The pruning itself is the pipeline's (`pruneOwned` in src/sync.ts); this file decides when, and reports.
 *
 * The finalizer is written with `update` (PUT of the whole object) — the only write verb the shipped
 * RBAC grants on `secretmanagerconfigs` — on the informer's copy when there is one, else (and after a
 * conflict) on a fresh GET, retried on conflict.
 */
import type { CustomObjectsApi } from '../kube/client-node.js';
import {
  API_GROUP,
  API_VERSION_NAME,
  PLURAL,
  type SecretManagerConfigSpec,
  type SecretManagerConfigStatus,
  parseSpec,
} from '../api/index.js';
import { backoffDelayMs } from '../backoff.js';
import { SmcError } from '../errors.js';
import type { DeletionPolicy } from '../plan/actions.js';
import { pruneOwned } from '../sync.js';
import type { Logger } from '../observability/logger.js';
import type { SmcEvent } from './runtime/events.js';
import type { SmcStores } from './reconcile.js';
import { computeStatus } from './status.js';

export const FINALIZER = `${API_GROUP}/finalizer`;

/** The SMC object as the informer holds it (the parts the finalizer reads). */
export interface FinalizableSmc {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    finalizers?: string[];
    deletionTimestamp?: Date | string;
    resourceVersion?: string;
  };
  spec?: unknown;
}

export function hasFinalizer(smc: FinalizableSmc): boolean {
  return (smc.metadata.finalizers ?? []).includes(FINALIZER);
}

/**
 * Whether deleting an SMC with this spec has store entries to disable or delete, so it must carry the
 * finalizer: `deletionPolicy` `Disable` or `Delete`. Undefined for a spec that names no known policy
 * or no spec at all (the API server's schema refuses both; the finalizer is then left as it is).
 */
export function needsFinalizer(spec: unknown): boolean | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  const policy = (spec as { deletionPolicy?: unknown }).deletionPolicy;
  if (policy === undefined || policy === 'Retain') return false;
  return policy === 'Disable' || policy === 'Delete' ? true : undefined;
}

export function isDeleting(smc: FinalizableSmc): boolean {
  return smc.metadata.deletionTimestamp !== undefined && smc.metadata.deletionTimestamp !== null;
}

export interface FinalizeResult {
  ok: boolean;
  policy: DeletionPolicy;
  /** Entries disabled or deleted. */
  pruned: number;
  /** Store writes made. */
  writes: number;
  /** Value-free summary (for the Event / the condition). */
  message: string;
}

/** Apply the SMC's `deletionPolicy` to all its stores; never throws (failures are in the result). */
export async function finalize(
  smc: FinalizableSmc,
  openStores: (spec: SecretManagerConfigSpec) => Promise<SmcStores> | SmcStores,
): Promise<FinalizeResult> {
  const where = `${smc.metadata.namespace}/${smc.metadata.name}`;
  let spec: SecretManagerConfigSpec;
  try {
    spec = parseSpec(smc.spec, where);
  } catch {
    // The API server validated it at admission; an unparsable spec cannot name a store to clean.
    return { ok: true, policy: 'Retain', pruned: 0, writes: 0, message: 'spec unreadable: entries retained' };
  }
  const policy = spec.deletionPolicy;
  if (policy === 'Retain') {
    return { ok: true, policy, pruned: 0, writes: 0, message: 'deletionPolicy Retain: store entries kept' };
  }
  const owner = { namespace: smc.metadata.namespace, name: smc.metadata.name };
  let stores: SmcStores | undefined;
  let pruned = 0;
  let writes = 0;
  const failed: string[] = [];
  try {
    stores = await openStores(spec);
    for (const store of [stores.secretStore, stores.configStore]) {
      if (!store) continue;
      const { results } = await pruneOwned(store, owner, policy);
      for (const r of results) {
        if (r.wrote) writes++;
        if (r.ok) pruned++;
        else failed.push(`${r.action.storeName}: ${r.message ?? 'failed'}`);
      }
    }
  } catch (e) {
    const msg =
      e instanceof SmcError ? `${e.code}: ${e.message}` : `unexpected ${(e as Error)?.name ?? 'error'}`;
    failed.push(msg);
  } finally {
    await Promise.allSettled([stores?.secretStore.close?.(), stores?.configStore?.close?.()]);
  }
  const verb = policy === 'Delete' ? 'deleted' : 'disabled';
  if (failed.length) {
    return {
      ok: false,
      policy,
      pruned,
      writes,
      message:
        `deletionPolicy ${policy}: ${pruned} entr(y/ies) ${verb}, ${failed.length} failed (${failed.slice(0, 5).join('; ')}); finalizer kept, retrying`.slice(
          0,
          4096,
        ),
    };
  }
  return {
    ok: true,
    policy,
    pruned,
    writes,
    message: `deletionPolicy ${policy}: ${pruned} entr(y/ies) ${verb}`,
  };
}

/** Adds and removes the finalizer with GET + PUT (RBAC `update`), retried on conflict. */
export class FinalizerWriter {
  constructor(private readonly custom: CustomObjectsApi) {}

  /**
   * Give a live SMC the finalizer its `deletionPolicy` needs (`needsFinalizer`): add it or remove
   * it, decided again on every fresh read. Returns whether the object was changed. `seen`: the object
   * as the informer holds it — its first PUT goes without a GET (one request fewer); a stale copy is
   * refused by its resourceVersion (409) and read afresh.
   */
  align(namespace: string, name: string, seen?: FinalizableSmc): Promise<boolean> {
    return this.mutate(
      namespace,
      name,
      (list, deleting, spec) => {
        const wanted = needsFinalizer(spec);
        if (deleting || wanted === undefined || wanted === list.includes(FINALIZER)) return undefined;
        return wanted ? [...list, FINALIZER] : list.filter((f) => f !== FINALIZER);
      },
      seen,
    );
  }

  /** Remove the finalizer (the API server then deletes the object). */
  remove(namespace: string, name: string): Promise<boolean> {
    return this.mutate(namespace, name, (list) =>
      list.includes(FINALIZER) ? list.filter((f) => f !== FINALIZER) : undefined,
    );
  }

  private async mutate(
    namespace: string,
    name: string,
    change: (finalizers: string[], deleting: boolean, spec: unknown) => string[] | undefined,
    seen?: FinalizableSmc,
  ): Promise<boolean> {
    const ref = { group: API_GROUP, version: API_VERSION_NAME, namespace, plural: PLURAL, name };
    type Obj = {
      metadata?: { finalizers?: string[]; deletionTimestamp?: string | Date; resourceVersion?: string };
      spec?: unknown;
    };
    // The informer's copy is never changed in place: the PUT body is a copy of it.
    let cached: Obj | undefined = seen?.metadata.resourceVersion ? (structuredClone(seen) as Obj) : undefined;
    for (let attempt = 1; ; attempt++) {
      const fromCache = cached !== undefined;
      let obj: Obj;
      if (cached) {
        obj = cached;
        cached = undefined;
      } else {
        try {
          obj = (await this.custom.getNamespacedCustomObject(ref)) as Obj;
        } catch (e) {
          if ((e as { code?: number }).code === 404) return false;
          throw e;
        }
      }
      const next = change(
        obj.metadata?.finalizers ?? [],
        obj.metadata?.deletionTimestamp !== undefined,
        obj.spec,
      );
      if (!next) return false;
      obj.metadata = { ...obj.metadata, finalizers: next };
      try {
        await this.custom.replaceNamespacedCustomObject({ ...ref, body: obj });
        return true;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404) return false;
        // The informer's copy was stale: read the object and try again at once.
        if (fromCache && code === 409) continue;
        const retriable = code === 409 || code === 429 || (code !== undefined && code >= 500);
        if (!retriable || attempt >= 5) {
          throw new Error(
            `updating the finalizers of ${namespace}/${name} failed (HTTP ${code ?? 'error'})`,
            {
              cause: e,
            },
          );
        }
        await new Promise((r) => setTimeout(r, backoffDelayMs({ baseMs: 100 }, attempt)));
      }
    }
  }
}

export interface LifecycleContext {
  writer: FinalizerWriter;
  openStores: (spec: SecretManagerConfigSpec) => Promise<SmcStores> | SmcStores;
  recordEvent: (event: SmcEvent) => Promise<void>;
  /** Write the status subresource (a failed finalization is reported there). */
  writeStatus: (status: SecretManagerConfigStatus) => Promise<void>;
  previousStatus: SecretManagerConfigStatus | undefined;
  generation: number | undefined;
  log: Logger;
  now?: () => Date;
}

/** Thrown when finalization failed: the queue retries with backoff; the finalizer stays. */
export class DeletionFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeletionFailed';
  }
}

/**
 * Before a reconcile: an SMC being deleted is finalized (`done`: no reconcile); a live one gets the
 * finalizer its `deletionPolicy` needs, or loses one it does not (`continue`). Throws
 * `DeletionFailed` when entries could not be cleaned.
 */
export async function handleLifecycle(
  smc: FinalizableSmc,
  ctx: LifecycleContext,
): Promise<'done' | 'continue'> {
  const { namespace, name } = smc.metadata;
  if (!isDeleting(smc)) {
    const wanted = needsFinalizer(smc.spec);
    if (wanted !== undefined && wanted !== hasFinalizer(smc)) {
      try {
        await ctx.writer.align(namespace, name, smc);
      } catch (e) {
        // Syncing goes on; deletion then cannot apply deletionPolicy until the finalizer is set.
        ctx.log.warn({ err: (e as Error).message }, 'could not update the finalizer; retried next reconcile');
      }
    }
    return 'continue';
  }
  if (!hasFinalizer(smc)) return 'done';
  const r = await finalize(smc, ctx.openStores);
  if (!r.ok) {
    ctx.log.warn({ policy: r.policy, message: r.message }, 'finalization failed');
    await ctx.recordEvent({ type: 'Warning', reason: 'DeletionFailed', message: r.message });
    const now = ctx.now?.() ?? new Date();
    await ctx.writeStatus(
      computeStatus({
        previous: ctx.previousStatus,
        generation: ctx.generation,
        verdict: {
          kind: 'failed',
          reason: 'DeletionFailed',
          message: r.message,
          stalled: false,
          sourceProblem: false,
        },
        now,
        nextReconcileAt: now,
      }),
    );
    throw new DeletionFailed(r.message);
  }
  ctx.log.info({ policy: r.policy, pruned: r.pruned, writes: r.writes }, 'finalized: removing the finalizer');
  await ctx.recordEvent({ type: 'Normal', reason: 'Finalized', message: r.message });
  await ctx.writer.remove(namespace, name);
  return 'done';
}
