import type { EntryKind } from '../entry.js';

export type ActionType = 'create' | 'update' | 'enable' | 'disable' | 'prune' | 'noop' | 'conflict';

export type DeletionPolicy = 'Retain' | 'Disable' | 'Delete';

/**
 * Why the plan chose an action, for code to decide by (drift detection, reports); `reason` says the
 * same in words. Never a value.
 *
 * - `missing`: the store has no entry under the name.
 * - `changed`: the stored value differs from Git's.
 * - `unreadable`: the store could not report its value, so it is written again (no evidence of a change).
 * - `adopted`: an entry nobody owns is taken over (the annotation asked for it).
 * - `disabled`: the entry is enabled where Git has the key commented out, or the other way round.
 * - `removed`: the key left the source (prune, or a noop under `Retain` / when already disabled).
 * - `drifted`: changed outside Git and left as found (`driftPolicy: Report`).
 */
export type ActionCause =
  'missing' | 'changed' | 'unreadable' | 'adopted' | 'disabled' | 'removed' | 'drifted';

interface ActionBase {
  /** Secret material, present on the verbs that write one (never printed). */
  value?: string;
  /** Present on `prune` only. */
  deletion?: Exclude<DeletionPolicy, 'Retain'>;
  /** Source key; absent for a prune of an entry whose key is no longer known. */
  key?: string;
  storeName: string;
  kind: EntryKind;
  /** Whether the entry should end up enabled (create/update of a commented-out key → false). */
  enabled?: boolean;
  /** Why this action, in words (value-free), e.g. "value changed", "unmanaged entry exists". */
  reason: string;
}

/** Values are secret material and are never printed. */
export interface CreateAction extends ActionBase {
  deletion?: undefined;
  type: 'create';
  cause: 'missing';
  value: string;
}
export interface UpdateAction extends ActionBase {
  deletion?: undefined;
  type: 'update';
  cause: 'changed' | 'unreadable' | 'adopted' | 'disabled';
  value: string;
}
/** `value` is present when the value changed too. */
export interface EnableAction extends ActionBase {
  deletion?: undefined;
  type: 'enable';
  cause: 'changed' | 'unreadable' | 'disabled';
  value?: string;
}
export interface DisableAction extends ActionBase {
  deletion?: undefined;
  type: 'disable';
  cause: 'disabled';
  value?: undefined;
}
/** What to do with an entry whose key left the source (`Retain` plans a noop). */
export interface PruneAction extends ActionBase {
  type: 'prune';
  cause: 'removed';
  deletion: Exclude<DeletionPolicy, 'Retain'>;
  value?: undefined;
}
export interface NoopAction extends ActionBase {
  deletion?: undefined;
  type: 'noop';
  cause?: ActionCause;
  value?: undefined;
}
export interface ConflictAction extends ActionBase {
  deletion?: undefined;
  type: 'conflict';
  value?: undefined;
}

/** One planned change to one store entry. */
export type Action =
  CreateAction | UpdateAction | EnableAction | DisableAction | PruneAction | NoopAction | ConflictAction;

/** An action that can change a store. */
export type WriteAction = Exclude<Action, NoopAction | ConflictAction>;

export interface ActionResult {
  action: Action;
  ok: boolean;
  /** Store version after the write, when the store has versions. */
  version?: string;
  /** Value-free explanation of a failure. */
  message?: string;
  /** True when the action made a write to the store. */
  wrote: boolean;
}
