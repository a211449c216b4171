/**
 * Change-sets of automatic workload reload (docs/hot-reload.md): which keys of which Kubernetes
 * Secret one sync of one SMC changed, at which source revision; and the record a reloaded workload
 * keeps of the change-sets it was reloaded for, so that no controller (this one after a restart, or
 * a new leader) reloads it for the same change-set twice.
 *
 * Everything here is names and digests of names: never a value, nor a hash of one.
 */
import { createHash } from 'node:crypto';
import { API_GROUP } from '../../api/constants.js';
import type { EntryOutcome } from '../../sync.js';
import type { SmcRef } from './notifier.js';

/** On a workload's metadata: ids of the change-sets it was last reloaded for, comma-separated, newest last. */
export const RELOADED_FOR_ANNOTATION = `${API_GROUP}/reloaded-for`;
/** On a workload's metadata: when it was last reloaded (RFC 3339 with milliseconds). */
export const RELOADED_AT_ANNOTATION = `${API_GROUP}/reloaded-at`;
/** How many change-set ids a workload's record keeps. */
const RECORD_IDS = 8;

export interface ChangeSet {
  /** Digest of the SMC, revision, Secret and key names (`changeSetId`). */
  id: string;
  smc: SmcRef;
  revision: string | undefined;
  /** The Kubernetes Secret written, in the SMC's namespace. */
  secret: string;
  /** Changed key names, sorted. */
  keys: string[];
  /** When the change was written (RFC 3339). */
  at: string;
}

/** 16 hex digits of SHA-256 over the SMC, revision, Secret and the sorted key names. */
export function changeSetId(
  smc: SmcRef,
  revision: string | undefined,
  secret: string,
  keys: readonly string[],
): string {
  const h = createHash('sha256').update(`${smc.namespace}/${smc.name}\n${revision ?? ''}\n${secret}\n`);
  for (const k of [...keys].sort()) h.update(`${k}\n`);
  return h.digest('hex').slice(0, 16);
}

/** The store actions that change what a pod reads from the Secret. */
const CHANGING = new Set(['create', 'update', 'enable', 'disable', 'prune']);

/**
 * The keys of the Kubernetes Secret store (`k8s`) a sync changed, from its outcomes: every entry
 * created, updated, enabled, disabled or pruned with success. Sorted, deduplicated.
 */
export function changedSecretKeys(
  outcomes: readonly Pick<EntryOutcome, 'store' | 'storeName' | 'action' | 'result'>[],
): string[] {
  const keys = new Set<string>();
  for (const o of outcomes)
    if (o.store === 'k8s' && o.result === 'ok' && CHANGING.has(o.action)) keys.add(o.storeName);
  return [...keys].sort();
}

export function makeChangeSet(
  smc: SmcRef,
  revision: string | undefined,
  secret: string,
  keys: readonly string[],
  at: Date,
): ChangeSet {
  const sorted = [...new Set(keys)].sort();
  return {
    id: changeSetId(smc, revision, secret, sorted),
    smc,
    revision,
    secret,
    keys: sorted,
    at: at.toISOString(),
  };
}

/** A workload's record: the change-set ids it was reloaded for and when. */
export interface ReloadRecord {
  ids: string[];
  at: number | undefined;
}

export function readRecord(annotations: Record<string, string> | undefined): ReloadRecord {
  const ids = (annotations?.[RELOADED_FOR_ANNOTATION] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^[0-9a-f]{16}$/.test(s));
  const at = Date.parse(annotations?.[RELOADED_AT_ANNOTATION] ?? '');
  return { ids, at: Number.isNaN(at) ? undefined : at };
}

/** The record's annotations after a reload for `ids` at `at`: the newest ids kept, older ones dropped. */
export function recordAnnotations(
  previous: ReloadRecord,
  ids: readonly string[],
  at: Date,
): Record<string, string> {
  const kept = [...previous.ids.filter((i) => !ids.includes(i)), ...ids].slice(-RECORD_IDS);
  return { [RELOADED_FOR_ANNOTATION]: kept.join(','), [RELOADED_AT_ANNOTATION]: at.toISOString() };
}
