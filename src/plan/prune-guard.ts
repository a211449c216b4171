/**
 * The prune-all guard. A pass that would prune every entry its owner has in its stores — nothing it
 * owns still rendered by the source, at least one entry about to be deleted or disabled — is refused
 * unless the caller allows it: a typo in the environment, `basePath` or `prefix`, or a source that
 * lost its files, looks exactly like this, and would otherwise empty the store with success.
 *
 * Not a prune-all: an owner with no entries yet (a first sync, or one that really owns none), a pass
 * that prunes nothing (`deletionPolicy: Retain`, entries already disabled), and keys commented out in
 * Git (disabled, not pruned: the source still renders them). Deleting the SecretManagerConfig itself
 * (its finalizer) does not plan through here: that is an explicit intent and always applies.
 *
 * Pure: counts what a plan does; the caller sums the counts of every store of one pass.
 */
import type { NamedEntry } from '../entry.js';
import { SmcError } from '../errors.js';
import type { Owner, StoredEntry } from '../stores/store.js';
import type { Action, DeletionPolicy } from './actions.js';
import { sameOwner } from './plan.js';

/** What one store's plan does to the entries its owner has there. */
export interface PruneCensus {
  /** Entries the owner has in the store. */
  owned: number;
  /** Of those, the ones the source still renders (written, disabled or held, but not pruned). */
  kept: number;
  /** Store names the plan prunes. */
  pruned: string[];
}

export function pruneCensus(
  input: {
    desired: readonly NamedEntry[];
    actual: readonly StoredEntry[];
    owner: Owner;
    held?: readonly string[];
  },
  actions: readonly Action[],
): PruneCensus {
  const rendered = new Set([...input.desired.map((d) => d.storeName), ...(input.held ?? [])]);
  const owned = new Set<string>();
  for (const a of input.actual) if (sameOwner(a.owner, input.owner)) owned.add(a.storeName);
  return {
    owned: owned.size,
    kept: [...owned].filter((n) => rendered.has(n)).length,
    pruned: actions.filter((a) => a.type === 'prune').map((a) => a.storeName),
  };
}

export interface PruneAllContext {
  owner: Owner;
  deletionPolicy: DeletionPolicy;
  /** Entries the source rendered in this pass. */
  rendered: number;
  /** How the user allows it, quoted in the refusal (e.g. `--allow-prune-all`). */
  allowSwitch: string;
}

/** Whether these counts (one per store of a pass) prune everything the owner has. */
export function prunesAll(census: readonly PruneCensus[]): boolean {
  const sum = (f: (c: PruneCensus) => number) => census.reduce((n, c) => n + f(c), 0);
  return sum((c) => c.pruned.length) > 0 && sum((c) => c.kept) === 0;
}

/** Throw `PruneAllRefused` when the pass would prune every entry its owner has. */
export function refusePruneAll(census: readonly PruneCensus[], ctx: PruneAllContext): void {
  if (!prunesAll(census)) return;
  const owned = census.reduce((n, c) => n + c.owned, 0);
  const names = census.flatMap((c) => c.pruned).sort();
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
  const rest = owned > names.length ? `; the other ${owned - names.length} already disabled` : '';
  const verb = ctx.deletionPolicy === 'Disable' ? 'disable' : 'delete';
  const source =
    ctx.rendered === 0
      ? 'the source renders no entry'
      : `the source renders ${ctx.rendered} ${ctx.rendered === 1 ? 'entry' : 'entries'}, none under a name it owns`;
  throw new SmcError(
    'PruneAllRefused',
    `refusing to ${verb} every entry ${ctx.owner.namespace}/${ctx.owner.name} owns (${names.length}: ${shown}${rest}): ${source}. ` +
      'An environment, basePath or prefix that does not match, or a source that lost its files, looks like this; ' +
      `nothing was changed. If it is meant, allow it with ${ctx.allowSwitch}`,
  );
}
