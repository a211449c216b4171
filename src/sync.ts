/**
 * The pipeline, one run over one source: render → decrypt → name → plan → apply.
 * It knows nothing of Kubernetes: the controller and the CLI both drive it.
 */
import type { Entry, EntryKind, NamedEntry } from './entry.js';
import { SmcError } from './errors.js';
import { checkLimits } from './naming/limits.js';
import { nameEntries } from './naming/name.js';
import type { ActionType, DeletionPolicy } from './plan/actions.js';
import { planActions } from './plan/plan.js';
import { propertiesAsSecret, renderKustomize, renderRawFiles } from './render/index.js';
import { decryptSops, formatFromPath, type SopsKeyring } from './sops/index.js';
import type { SourceCheckout } from './source/source.js';
import type { Owner, SecretStore } from './stores/store.js';

export type RenderMode = { mode: 'raw'; basePath?: string } | { mode: 'kustomize'; kustomizePath: string };

export interface SyncRequest {
  source: SourceCheckout;
  /** The SecretManagerConfig this run acts for; recorded as the owner of every entry it creates. */
  owner: Owner;
  environment: string;
  render: RenderMode;
  prefix?: string;
  suffix?: string;
  sops: { enabled: boolean; keyring?: SopsKeyring };
  /** Where secrets go. */
  secretStore: SecretStore;
  /** Where configs (`application.properties`, ConfigMaps) go; without one they travel as one JSON secret. */
  configStore?: SecretStore;
  deletionPolicy: DeletionPolicy;
  triggerUpdate: boolean;
  adopt: boolean;
  maxSecretsPerResource?: number;
  /** Plan only: read the stores, write nothing. */
  dryRun?: boolean;
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { stage: 'render'; entries: number }
  | { stage: 'plan'; store: string; actions: number }
  | { stage: 'apply'; store: string; done: number; total: number };

export type OutcomeResult = 'ok' | 'failed' | 'planned';

/** What happened to one entry. Carries no value. */
export interface EntryOutcome {
  key?: string;
  storeName: string;
  kind: EntryKind;
  store: string;
  action: ActionType;
  result: OutcomeResult;
  version?: string;
  message?: string;
}

export interface SyncResult {
  revision?: string;
  outcomes: EntryOutcome[];
  /** Number of outcomes with result `failed`. */
  failed: number;
  /** Number of store writes made (zero on a dry run and on an unchanged source). */
  writes: number;
}

/** Render the source into entries, decrypting SOPS files on the way. */
export async function renderSource(
  req: Pick<SyncRequest, 'source' | 'environment' | 'render' | 'sops' | 'owner' | 'prefix'>,
): Promise<Entry[]> {
  const decrypt = sopsDecryptor(req.sops);
  if (req.render.mode === 'kustomize') {
    // A kustomize build has no service directories: its entries belong to the SMC (prefix, else name).
    const service = req.prefix ?? req.owner.name;
    const entries = await renderKustomize({
      root: req.source.root,
      kustomizePath: req.render.kustomizePath,
      decrypt,
    });
    return entries.map((e) => ({ ...e, service }));
  }
  return renderRawFiles({
    root: req.source.root,
    basePath: req.render.basePath,
    environment: req.environment,
    rootServiceName: req.prefix ?? req.owner.name,
    decrypt,
  });
}

/** The decrypt callback render calls for each SOPS-encrypted file: decrypt it, or refuse with the reason. */
export function sopsDecryptor(sops: SyncRequest['sops']) {
  return async (file: string, content: Uint8Array): Promise<Uint8Array> => {
    if (!sops.enabled) {
      throw new SmcError(
        'SopsDisabled',
        `${file} is SOPS-encrypted but SOPS decryption is disabled (secrets.sops.enabled: false); an encrypted file is never pushed as ciphertext`,
      );
    }
    if (!sops.keyring) {
      throw new SmcError(
        'SopsNoMatchingKey',
        `${file} is SOPS-encrypted but no decryption key was given (age key or PGP private key)`,
      );
    }
    return decryptSops(content, { format: formatFromPath(file), keyring: sops.keyring, fileName: file });
  };
}

export async function sync(req: SyncRequest): Promise<SyncResult> {
  let entries = await renderSource(req);
  req.onProgress?.({ stage: 'render', entries: entries.length });
  if (!req.configStore) entries = foldConfigsIntoSecrets(entries);

  const groups: { store: SecretStore; entries: Entry[] }[] = [
    { store: req.secretStore, entries: entries.filter((e) => e.kind === 'secret') },
  ];
  if (req.configStore)
    groups.push({ store: req.configStore, entries: entries.filter((e) => e.kind === 'config') });

  if (req.maxSecretsPerResource !== undefined && entries.length > req.maxSecretsPerResource) {
    throw new SmcError(
      'TooMany',
      `${entries.length} entries rendered for ${req.owner.namespace}/${req.owner.name}, more than maxSecretsPerResource (${req.maxSecretsPerResource})`,
    );
  }

  // Name everything before touching any store: a collision anywhere stops the run with no writes.
  const named = groups.map((g) => ({
    store: g.store,
    entries: nameEntries(g.entries, { rule: g.store.naming, prefix: req.prefix, suffix: req.suffix }),
  }));

  const outcomes: EntryOutcome[] = [];
  let writes = 0;
  for (const { store, entries: desired } of named) {
    const { accepted, rejected } = checkLimits(desired, store.limits);
    for (const r of rejected) outcomes.push(outcome(store, r.entry, 'failed', r.message));
    const actual = await store.read(
      req.owner,
      desired.map((e) => e.storeName),
    );
    const actions = planActions({
      desired: accepted,
      actual,
      owner: req.owner,
      deletionPolicy: req.deletionPolicy,
      triggerUpdate: req.triggerUpdate,
      adopt: req.adopt,
      // An entry refused for its size is still in Git: neither write nor prune it.
      held: rejected.map((r) => r.entry.storeName),
    });
    req.onProgress?.({ stage: 'plan', store: store.target, actions: actions.length });

    if (req.dryRun) {
      for (const a of actions) {
        outcomes.push({
          key: a.key,
          storeName: a.storeName,
          kind: a.kind,
          store: store.type,
          action: a.type,
          result: 'planned',
          message: a.reason,
        });
      }
      continue;
    }
    const results = await store.apply(req.owner, actions);
    req.onProgress?.({ stage: 'apply', store: store.target, done: results.length, total: actions.length });
    for (const r of results) {
      if (r.wrote) writes++;
      outcomes.push({
        key: r.action.key,
        storeName: r.action.storeName,
        kind: r.action.kind,
        store: store.type,
        action: r.action.type,
        result: r.ok ? 'ok' : 'failed',
        version: r.version,
        message: r.ok ? r.action.reason : r.message,
      });
    }
  }
  outcomes.sort((a, b) => a.storeName.localeCompare(b.storeName) || a.store.localeCompare(b.store));
  return {
    revision: req.source.revision,
    outcomes,
    failed: outcomes.filter((o) => o.result === 'failed').length,
    writes,
  };
}

function outcome(store: SecretStore, e: NamedEntry, result: OutcomeResult, message: string): EntryOutcome {
  const action: ActionType = 'noop';
  return { key: e.key, storeName: e.storeName, kind: e.kind, store: store.type, action, result, message };
}

/**
 * Without a config store, each service's properties travel as one secret `properties` holding a
 * JSON object with sorted keys (stable bytes, so an unchanged file never makes a new version).
 */
export function foldConfigsIntoSecrets(entries: Entry[]): Entry[] {
  const secrets = entries.filter((e) => e.kind === 'secret');
  const byService = new Map<string | undefined, Entry[]>();
  for (const e of entries) {
    if (e.kind !== 'config' || !e.enabled) continue;
    byService.set(e.service, [...(byService.get(e.service) ?? []), e]);
  }
  for (const [service, configs] of byService) {
    secrets.push({
      key: 'properties',
      value: propertiesAsSecret(configs),
      kind: 'secret',
      enabled: true,
      origin: [...new Set(configs.map((c) => c.origin))].join(', '),
      service,
    });
  }
  return secrets;
}
