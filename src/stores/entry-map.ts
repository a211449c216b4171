/**
 * The resolve algorithm of the stores that read their whole state, decide every action in memory,
 * then write once (the Kubernetes Secret store and the local directory store): verb handlers for
 * the apply loop (`apply.ts`) that turn the entries as read into the entries to write. Pure: no I/O.
 */
import type { EntryKind } from '../entry.js';
import type { WriteAction } from '../plan/actions.js';
import { sameOwner } from '../plan/plan.js';
import { ownershipRefusal, type VerbHandlers } from './apply.js';
import type { Owner } from './store.js';

/** One entry as a whole-state store holds it; `owner` undefined: present but not created by us. */
export interface HeldEntry {
  /** Undefined when the store lost it (then only a write with a value brings it back). */
  value: string | undefined;
  enabled: boolean;
  owner?: Owner;
  key?: string;
  kind?: EntryKind;
}

export interface EntryMapRules<E extends HeldEntry> {
  /** Where the entries live, for messages: `in /srv/out`, `in Secret ns/name`. */
  where: string;
  /** A name taken by something that is not an entry (a file we did not write): refuses a `create`. */
  occupied?(name: string): boolean;
  /**
   * The store's last word on a changed entry (`after` may be adjusted, e.g. its version): a value-free
   * refusal, and the version to report.
   */
  settle?(name: string, before: E | undefined, after: E): { refusal?: string; version?: string };
  /** Whether going from `before` to `after` writes anything; default: any field differs. */
  changes?(before: E | undefined, after: E | undefined): boolean;
}

class Refused extends Error {}

/** The message of a refusal thrown by the handlers (anything else is the caller's to describe). */
export function refusalMessage(e: unknown): string | undefined {
  return e instanceof Refused ? e.message : undefined;
}

function sameHeld(a: HeldEntry | undefined, b: HeldEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const owners = a.owner === undefined ? b.owner === undefined : sameOwner(b.owner, a.owner);
  return owners && a.value === b.value && a.enabled === b.enabled && a.kind === b.kind && a.key === b.key;
}

/**
 * Handlers that apply each action to `next` (the entries as read; changed in place), for `owner`.
 * Entries of other owners are never touched; an entry nobody owns is taken over only by an `update`.
 */
export function entryMapHandlers<E extends HeldEntry>(
  next: Map<string, E>,
  owner: Owner,
  rules: EntryMapRules<E>,
): VerbHandlers {
  const changes = rules.changes ?? ((a, b) => !sameHeld(a, b));
  const refuse = (message: string): never => {
    throw new Refused(message);
  };
  const checkHolder = (action: WriteAction, cur: E | undefined) => {
    const what = `"${action.storeName}" ${rules.where}`;
    if (cur?.owner === undefined) return;
    const refusal = ownershipRefusal(cur.owner, owner, action, what);
    if (refusal !== undefined) refuse(refusal);
  };
  const commit = (name: string, cur: E | undefined, after: E) => {
    const settled = rules.settle?.(name, cur, after) ?? {};
    if (settled.refusal !== undefined) refuse(settled.refusal);
    const wrote = changes(cur, after);
    if (wrote) next.set(name, after);
    return { wrote, ...(settled.version !== undefined ? { version: settled.version } : {}) };
  };
  const ours = (action: WriteAction): E => {
    const cur = next.get(action.storeName);
    if (cur?.owner === undefined) refuse(`"${action.storeName}" is not an entry of ours ${rules.where}`);
    checkHolder(action, cur);
    return cur as E;
  };
  const write = (action: WriteAction & { value: string }) => {
    const name = action.storeName;
    const cur = next.get(name);
    checkHolder(action, cur);
    const unmanaged = (cur !== undefined && cur.owner === undefined) || (rules.occupied?.(name) ?? false);
    if (action.type === 'create' && cur?.owner === undefined && unmanaged) {
      refuse(`"${name}" already exists ${rules.where} and was not created by us`);
    }
    const after = {
      ...cur,
      key: action.key ?? cur?.key,
      kind: action.kind,
      enabled: action.enabled ?? cur?.enabled ?? true,
      owner: { namespace: owner.namespace, name: owner.name },
      value: action.value,
    } as E;
    return commit(name, cur, after);
  };
  return {
    create: async (action) => write(action),
    update: async (action) => write(action),
    async enable(action) {
      const cur = ours(action);
      const value = action.value ?? cur.value;
      if (value === undefined) {
        refuse(`the stored value of "${action.storeName}" is lost; it can only be re-enabled with a value`);
      }
      return commit(action.storeName, cur, { ...cur, enabled: true, value });
    },
    async disable(action) {
      const cur = ours(action);
      return commit(action.storeName, cur, { ...cur, enabled: false });
    },
    async prune(action) {
      const cur = next.get(action.storeName);
      if (cur?.owner === undefined) return { wrote: false };
      checkHolder(action, cur);
      if (action.deletion === 'Disable') return commit(action.storeName, cur, { ...cur, enabled: false });
      next.delete(action.storeName);
      return { wrote: true };
    },
  };
}
