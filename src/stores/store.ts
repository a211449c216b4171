import type { EntryKind } from '../entry.js';
import type { StoreLimits } from '../naming/limits.js';
import type { NamingRule } from '../naming/rules.js';
import type { Action, ActionResult } from '../plan/actions.js';

/** Who owns a store entry: the SecretManagerConfig that created it. */
export interface Owner {
  namespace: string;
  name: string;
}

/** What a store holds under one name, as far as planning needs to know. */
export interface StoredEntry {
  storeName: string;
  /** Current value; undefined when the store cannot tell (then the entry is always rewritten). */
  value?: string;
  /**
   * Instead of `value`: whether the entry holds a given value, for a store that can tell without
   * reading it (src/stores/version-digests.ts). Set only on entries whose `value` is unset.
   */
  holds?(value: string): boolean;
  enabled: boolean;
  /** Undefined for an entry that carries no ownership marker (not created by us). */
  owner?: Owner;
  /** Key the entry was created for, when the store records it. */
  key?: string;
  kind?: EntryKind;
  version?: string;
}

export type { StoreLimits };

/**
 * One interface for every store. A store reads its state for planning and applies a plan.
 * `apply` returns one result per action, in order; a failing action does not stop the others.
 */
export interface SecretStore {
  /** Store type, e.g. `local`, `gcp`, `aws`. */
  readonly type: string;
  /** Human-readable target, e.g. the directory or project. Never contains credentials. */
  readonly target: string;
  readonly naming: NamingRule;
  readonly limits: StoreLimits;
  /**
   * Entries relevant to a plan: every entry owned by `owner`, plus whatever the store holds under
   * each of `names` (owned or not), so conflicts with unmanaged entries can be detected.
   */
  read(owner: Owner, names: readonly string[]): Promise<StoredEntry[]>;
  apply(owner: Owner, actions: readonly Action[]): Promise<ActionResult[]>;
  /** Release connections (SDK clients, sockets); the store is not used afterwards. */
  close?(): Promise<void>;
}

/** One provider call, as the controller's metrics see it (`provider_operations_total` etc.). No values. */
export interface ProviderCall {
  /** SDK operation, e.g. `CreateSecret`, `AddSecretVersion`. */
  operation: string;
  /** Whether the call can change the store. */
  write: boolean;
  result: 'ok' | 'error';
  /** Error reason when `result` is `error` (a ProviderErrorReason). */
  reason?: string;
  durationMs: number;
}

/** Hooks a store reports to; every store calls `onCall` once per provider request (retries included). */
export interface StoreObserver {
  onCall?(call: ProviderCall): void;
  /** A throttled response was retried. */
  onThrottled?(): void;
}

/** The order every store's `read` answers in: by store name. */
export function byStoreName(a: StoredEntry, b: StoredEntry): number {
  return a.storeName < b.storeName ? -1 : a.storeName > b.storeName ? 1 : 0;
}
