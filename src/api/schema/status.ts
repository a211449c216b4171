/** `status`: what the controller observed — phase, kstatus conditions, per-entry results and hot-reload state. */
import { z } from 'zod';
import * as P from '../patterns.js';
import { count, generation, pattern, timestamp } from './fields.js';

export const PHASES = ['Pending', 'Syncing', 'Synced', 'Error', 'Suspended'] as const;
/** Condition types the controller writes (kstatus `Ready`/`Reconciling`/`Stalled`, plus its own). */
export const CONDITION_TYPES = ['Ready', 'Reconciling', 'Stalled', 'Drifted', 'SourceReady'] as const;
export const ENTRY_STATES = ['Synced', 'Disabled', 'Failed', 'Drifted', 'Conflict'] as const;

export const ConditionSchema = z
  .object({
    type: pattern(P.CONDITION_TYPE, 'must be a condition type', 316).describe(
      'Ready, Reconciling, Stalled, Drifted or SourceReady.',
    ),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition.'),
    observedGeneration: generation()
      .optional()
      .describe('metadata.generation the condition was computed from.'),
    lastTransitionTime: timestamp().describe(
      'When status last changed (not when the condition was last written).',
    ),
    reason: pattern(P.CONDITION_REASON, 'must be a CamelCase reason', 1024).describe(
      'Machine-readable reason, e.g. PartialFailure, ProviderAuthFailed, AccessDenied.',
    ),
    message: z.string().max(32768).describe('Human-readable detail. Never contains a secret value.'),
  })
  .describe('A condition in the Kubernetes (kstatus) convention.');

export const EntryStatusSchema = z
  .object({
    key: z.string().min(1).max(1024).describe('Key as written in Git.'),
    storeName: z.string().min(1).max(2048).describe('Name of the entry in its store.'),
    kind: z.enum(['secret', 'config']).describe('secret: secret store; config: config store.'),
    version: z.string().max(256).optional().describe('Store version of the value last written or seen.'),
    state: z.enum(ENTRY_STATES).describe('State of the entry after the last sync.'),
    lastUpdateTime: timestamp().optional().describe('When the controller last wrote the entry.'),
    message: z
      .string()
      .max(4096)
      .optional()
      .describe('Why the entry failed, drifted or conflicts. Never a value.'),
  })
  .describe('One synced entry. Never holds a value or a hash of a value.');

export const StatusSchema = z
  .object({
    phase: z
      .enum(PHASES)
      .optional()
      .describe(
        'Pending until the first sync (or while its source is not ready yet), Syncing while a sync ' +
          'runs (written only for a pass still running after a second), then the outcome: Synced, ' +
          'Error or Suspended.',
      ),
    description: z.string().max(4096).optional().describe('One-line human-readable summary.'),
    conditions: z
      .array(ConditionSchema)
      .max(32)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Reconciling, Stalled (kstatus), Drifted and SourceReady.'),
    observedGeneration: generation().optional().describe('metadata.generation of the last reconciled spec.'),
    lastSyncTime: timestamp().optional().describe('Last fully successful sync (RFC 3339).'),
    lastAttemptTime: timestamp().optional().describe('Last reconcile attempt, successful or not.'),
    nextReconcileTime: timestamp()
      .optional()
      .describe(
        'When the next periodic reconcile was due at the last status write (not refreshed by a periodic pass that changes nothing).',
      ),
    lastSyncedRevision: z
      .string()
      .max(1024)
      .optional()
      .describe('Source revision of the last successful sync.'),
    lastHandledReconcileAt: z
      .string()
      .max(256)
      .optional()
      .describe('Value of the last reconcile-request annotation acted on.'),
    secretsCount: count().optional().describe('Number of secret entries managed.'),
    configsCount: count().optional().describe('Number of config entries managed.'),
    entries: z.array(EntryStatusSchema).optional().describe('Per-entry results of the last sync.'),
    hotReload: z
      .object({
        configMap: z
          .object({
            name: z.string().max(253).optional().describe('Settings ConfigMap watched.'),
            namespace: z.string().max(63).optional().describe('Its namespace.'),
            resourceVersion: z
              .string()
              .max(256)
              .optional()
              .describe('resourceVersion of the settings applied.'),
            appliedAt: timestamp().optional().describe('When those settings were applied.'),
            lastError: z
              .string()
              .max(4096)
              .optional()
              .describe('Why the last change was refused, if it was.'),
          })
          .optional()
          .describe('Settings ConfigMap state.'),
        lastWorkloadReload: timestamp().optional().describe('When workloads were last notified of a change.'),
        workloadsNotified: z
          .array(z.string().max(512))
          .optional()
          .describe('Workloads notified by the last reload, as `Kind/name`.'),
        changeSet: z
          .object({
            id: z.string().max(64).describe('Digest of the SMC, revision, Secret and changed key names.'),
            revision: z.string().max(1024).optional().describe('Source revision that made the change.'),
            secret: z.string().max(253).describe('The Kubernetes Secret written.'),
            keys: z.array(z.string().max(253)).describe('Names of the keys that changed (never values).'),
            at: timestamp().describe('When the change was written.'),
          })
          .optional()
          .describe(
            '`hotReload.workloads: auto`: the last change-set (names only), written with the sync that made it; ' +
              'a controller that starts resumes it, so a fan-out a crash interrupted is finished, never repeated.',
          ),
        workloads: z
          .array(
            z.object({
              workload: z.string().max(512).describe('`Kind/name`.'),
              result: z
                .enum(['restarted', 'evicted', 'notified', 'skipped', 'failed'])
                .describe('What was done.'),
              reason: z
                .string()
                .max(1024)
                .describe('Why: the uses of changed keys (`env var DB_PASSWORD`), or why it was skipped.'),
              changeSets: z
                .array(z.string().max(64))
                .max(16)
                .describe('Ids of the change-sets (`changeSet.id`) this result carried.'),
            }),
          )
          .max(100)
          .optional()
          .describe('`hotReload.workloads: auto`: what the last change-set did to each workload it reached.'),
      })
      .optional()
      .describe('Hot-reload state (docs/hot-reload.md).'),
  })
  .describe('Observed state, written by the controller.');
