/**
 * The write and prune verbs as both AWS stores run them, around each store's own calls: create or
 * find the entry, check who owns it, converge its value, then its tags (ownership, `disabled`).
 */
import type { ActionResult, PruneAction, WriteAction } from '../../plan/actions.js';
import { sameOwner } from '../../plan/plan.js';
import { checkOwnership } from '../apply.js';
import { ownerFromTags } from '../ownership.js';
import type { Owner } from '../store.js';
import {
  desiredState,
  desiredTags,
  isDisabledByTag,
  ownerLabel,
  refuse,
  type ApplyProgress,
  type TagRecord,
} from './common.js';

export type EntryResult = Omit<ActionResult, 'action'>;

/** What the verbs need of one store's entry `name`. */
export interface EntryCalls<I extends { tags: TagRecord }> {
  /** How messages name the entry: `"NAME"`, `parameter "NAME"`. */
  what: string;
  environment: string;
  progress: ApplyProgress;
  /** The entry's tags (and what else the store reads with them); undefined when it does not exist. */
  find(): Promise<I | undefined>;
  /** Set the entry's tags from `current` to `desired` (others left alone). */
  setTags(current: TagRecord, desired: TagRecord): Promise<void>;
}

/**
 * create, update, enable, disable: a `create` tries to make the entry first; otherwise (or when it
 * was there already) the entry is found, its owner checked, its value brought up to date by
 * `converge` (which returns the current version) and its tags set.
 */
export async function writeEntry<I extends { tags: TagRecord }>(
  owner: Owner,
  action: Exclude<WriteAction, PruneAction>,
  calls: EntryCalls<I> & {
    /** The message when the entry is absent and the action carries no value to create it with. */
    missing: string;
    /** Make the entry; undefined when it already exists. */
    create(value: string, enabled: boolean): Promise<EntryResult | undefined>;
    converge(info: I, value: string | undefined): Promise<string | undefined>;
  },
): Promise<EntryResult> {
  const { enabled, value } = desiredState(action);
  if (action.type === 'create') {
    const created = await calls.create(value as string, enabled);
    if (created) return created;
  }

  // The entry exists (or a create found it there): check who owns it, then converge.
  const info = await calls.find();
  if (!info) {
    if (value === undefined) refuse('NotFound', calls.missing);
    const created = await calls.create(value, enabled);
    if (created) return created;
    refuse('Conflict', `${calls.what} appeared and disappeared while being written; retry`);
  }
  checkOwnership(ownerFromTags(info.tags), owner, action, calls.what);
  const version = await calls.converge(info, value);
  await calls.setTags(info.tags, desiredTags(owner, calls.environment, enabled));
  return { ok: true, wrote: calls.progress.wrote, ...(version ? { version } : {}) };
}

/**
 * prune: nothing to do when the entry is gone; refused when it is not ours; `Delete` deletes it
 * (`remove` says whether it wrote), `Disable` tags it disabled.
 */
export async function pruneEntry<I extends { tags: TagRecord }>(
  owner: Owner,
  action: PruneAction,
  calls: EntryCalls<I> & {
    /** An entry that is there but already on its way out (scheduled for deletion). */
    gone?(info: I): boolean;
    remove(): Promise<boolean>;
  },
): Promise<EntryResult> {
  const info = await calls.find();
  if (!info || calls.gone?.(info)) return { ok: true, wrote: false };
  const holder = ownerFromTags(info.tags);
  if (!sameOwner(holder, owner)) {
    refuse(
      'Conflict',
      `${calls.what} is ${holder ? `owned by ${ownerLabel(holder)}` : 'not marked as ours'}; not pruned`,
    );
  }
  if (action.deletion === 'Delete') return { ok: true, wrote: await calls.remove() };
  if (isDisabledByTag(info.tags)) return { ok: true, wrote: false };
  await calls.setTags(info.tags, desiredTags(owner, calls.environment, false));
  return { ok: true, wrote: calls.progress.wrote };
}
