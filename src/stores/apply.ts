/**
 * The apply loop every store runs (`SecretStore.apply`): one result per action, in order, a failing
 * action never stopping the others. Done here once: `noop` and `conflict` answered without a call
 * (`passiveResult`), a name the store cannot hold refused before any call, the store's own refusals
 * (a size it cannot hold, a target it must not write), and every failure turned into a value-free
 * result that still says whether something was written. The store supplies one handler per verb;
 * the action types (src/plan/actions.ts) guarantee each handler the fields its verb needs.
 */
import { SmcError } from '../errors.js';
import { type StoreLimits, utf8Bytes } from '../naming/limits.js';
import { nameProblem } from '../naming/name.js';
import type { NamingRule } from '../naming/rules.js';
import type {
  Action,
  ActionResult,
  CreateAction,
  DisableAction,
  EnableAction,
  PruneAction,
  UpdateAction,
  WriteAction,
} from '../plan/actions.js';
import { sameOwner } from '../plan/plan.js';
import { passiveResult } from '../plan/results.js';
import { mapLimit } from './map-limit.js';
import type { Owner } from './store.js';

/** Tracks whether an action changed the store, also when it fails half-way. */
export interface WriteLog {
  wrote: boolean;
}

/** What a handler reports: the version written, and `wrote` when the log does not tell it. */
export type VerbResult = { version?: string; wrote?: boolean } | undefined | void;

export interface VerbHandlers {
  create(action: CreateAction, log: WriteLog): Promise<VerbResult>;
  update(action: UpdateAction, log: WriteLog): Promise<VerbResult>;
  enable(action: EnableAction, log: WriteLog): Promise<VerbResult>;
  disable(action: DisableAction, log: WriteLog): Promise<VerbResult>;
  prune(action: PruneAction, log: WriteLog): Promise<VerbResult>;
}

/** A handler's result from the version it wrote (or found), if any. */
export function versioned(version: string | undefined): { version?: string } {
  return version !== undefined ? { version } : {};
}

/** What a cloud store tells its shared `apply` about itself. */
export interface StoreBasics {
  naming: NamingRule;
  limits: StoreLimits;
  concurrency: number;
  /** What the store calls a name, for the refusal (see `ApplyLoop.nameKind`). */
  nameKind: string;
}

export interface ApplyLoop {
  naming: NamingRule;
  /** What the store calls a name, for the refusal: `local file name`, `Secret key`, `GCP secret id`. */
  nameKind: string;
  /** Actions in flight at once; default 1 (in order). */
  concurrency?: number;
  /** A store-specific refusal before any call, value-free; undefined lets the action go ahead. */
  refuse?(action: WriteAction): string | undefined;
  /** The version a `noop`/`conflict` reports, when the store knows it without a call. */
  passiveVersion?(action: Action): string | undefined;
  handlers: VerbHandlers;
  /** The value-free message for whatever a handler threw. */
  failure(error: unknown, action: WriteAction): string;
}

export function applyActions(actions: readonly Action[], loop: ApplyLoop): Promise<ActionResult[]> {
  return mapLimit(actions, loop.concurrency ?? 1, (action) => applyAction(action, loop));
}

async function applyAction(action: Action, loop: ApplyLoop): Promise<ActionResult> {
  if (action.type === 'noop' || action.type === 'conflict') {
    return passiveResult(action, loop.passiveVersion?.(action));
  }
  const problem = nameProblem(loop.naming, action.storeName);
  const refusal =
    malformed(action) ??
    (problem !== undefined
      ? `"${action.storeName}" is not a valid ${loop.nameKind}: ${problem}`
      : loop.refuse?.(action));
  if (refusal !== undefined) return { action, ok: false, message: refusal, wrote: false };
  const log: WriteLog = { wrote: false };
  try {
    const out = (await dispatch(action, loop.handlers, log)) ?? {};
    const version = out.version;
    return { action, ok: true, wrote: out.wrote ?? log.wrote, ...(version !== undefined ? { version } : {}) };
  } catch (e) {
    return { action, ok: false, message: loop.failure(e, action), wrote: log.wrote };
  }
}

/**
 * What a planned action cannot lack, checked once here for callers without the types (JavaScript,
 * hand-written plans): a value on `create`/`update`, a deletion on `prune`, a known verb.
 */
function malformed(action: WriteAction): string | undefined {
  const name = action.storeName;
  const a = action as { type: string; value?: unknown; deletion?: unknown };
  if ((a.type === 'create' || a.type === 'update') && typeof a.value !== 'string') {
    return `${a.type} of "${name}" carries no value`;
  }
  if (a.type === 'prune' && a.deletion !== 'Disable' && a.deletion !== 'Delete') {
    return `prune of "${name}" has no deletion (Disable or Delete)`;
  }
  if (!['create', 'update', 'enable', 'disable', 'prune'].includes(a.type)) {
    return `unknown action type for "${name}"`;
  }
  return undefined;
}

function dispatch(action: WriteAction, h: VerbHandlers, log: WriteLog): Promise<VerbResult> {
  switch (action.type) {
    case 'create':
      return h.create(action, log);
    case 'update':
      return h.update(action, log);
    case 'enable':
      return h.enable(action, log);
    case 'disable':
      return h.disable(action, log);
    case 'prune':
      return h.prune(action, log);
  }
}

/**
 * Why `owner` must not change an existing entry held by `holder` (undefined: it may): an entry of
 * another SecretManagerConfig never, an entry nobody owns only by adopting it (an `update`, which the
 * plan makes only when adoption was asked for). `what` names the entry, e.g. `"DB_URL" in gcp:p`.
 */
export function ownershipRefusal(
  holder: Owner | undefined,
  owner: Owner,
  action: WriteAction,
  what: string,
): string | undefined {
  if (holder && !sameOwner(holder, owner)) return `${what} is owned by ${holder.namespace}/${holder.name}`;
  if (!holder && action.type !== 'update') {
    return `${what} exists and was not created by us (no ownership marker)`;
  }
  return undefined;
}

/** `ownershipRefusal` as a Conflict error, for handlers that look the holder up. */
export function checkOwnership(
  holder: Owner | undefined,
  owner: Owner,
  action: WriteAction,
  what: string,
): void {
  const refusal = ownershipRefusal(holder, owner, action, what);
  if (refusal !== undefined) throw new SmcError('Conflict', refusal);
}

/** Whether the entry should end up enabled: the verb says so, or the action does, else `current`. */
export function targetEnabled(action: WriteAction, current = true): boolean {
  if (action.type === 'enable') return true;
  if (action.type === 'disable' || action.type === 'prune') return false;
  return action.enabled ?? current;
}

/** A value over the store's limit (checkLimits refuses these before planning; never send one anyway). */
export function sizeRefusal(
  action: WriteAction,
  limits: StoreLimits,
  what = `"${action.storeName}"`,
): string | undefined {
  const value = 'value' in action ? action.value : undefined;
  if (value === undefined) return undefined;
  const size = utf8Bytes(value);
  return size > limits.maxValueBytes
    ? `${what} value is ${size} bytes, over the limit of ${limits.maxValueBytes}`
    : undefined;
}
