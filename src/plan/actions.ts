import type { EntryKind } from '../entry.js';

export type ActionType = 'create' | 'update' | 'enable' | 'disable' | 'prune' | 'noop' | 'conflict';

export type DeletionPolicy = 'Retain' | 'Disable' | 'Delete';

/**
 * One planned change to one store entry. `value` is present for create/update (and for enable
 * when the value also changed); it is secret material and is never printed.
 */
export interface Action {
  type: ActionType;
  /** Source key; absent for a prune of an entry whose key is no longer known. */
  key?: string;
  storeName: string;
  kind: EntryKind;
  value?: string;
  /** Whether the entry should end up enabled (create/update of a commented-out key → false). */
  enabled?: boolean;
  /** For `prune`: what to do with the entry (`Disable` or `Delete`; `Retain` plans a noop). */
  deletion?: Exclude<DeletionPolicy, 'Retain'>;
  /** Why this action (value-free), e.g. "value changed", "unmanaged entry exists". */
  reason: string;
}

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
