/**
 * The pipeline, one run over one source: render → decrypt → name → plan → apply.
 * It knows nothing of Kubernetes: the controller and the CLI both drive it.
 *
 * Every store is read and planned before any is written, so two refusals stop a pass with nothing
 * changed: a name collision, and a pass that would prune every entry its owner has
 * (src/plan/prune-guard.ts). Unencrypted secrets files are refused while rendering (src/render/raw.ts).
 *
 * A second entry point, `pruneOwned`, applies a deletion policy to everything an owner has in a store
 * (the SecretManagerConfig is being deleted). Policies stay with the caller through `review`, a hook
 * between plan and apply (the controller's drift policy).
 *
 * Callers may observe its stages (tracing, timing) through an optional `stage` hook, given in the
 * request or installed around a call with `withStageHook`; without one, every stage just runs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Entry, EntryKind, NamedEntry } from './entry.js';
import { SmcError } from './errors.js';
import type { InputLimits } from './limits/input.js';
import { checkLimits } from './naming/limits.js';
import { nameEntries } from './naming/name.js';
import type { Action, ActionResult, ActionType, DeletionPolicy } from './plan/actions.js';
import { planActions } from './plan/plan.js';
import { type PruneCensus, pruneCensus, refusePruneAll } from './plan/prune-guard.js';
import type { RenderCache } from './render/cache.js';
import { propertiesAsSecret, renderKustomize, renderRawFiles } from './render/index.js';
import { decryptSops, formatFromPath, type SopsKeyring } from './sops/index.js';
import type { SourceCheckout } from './source/source.js';
import type { Owner, SecretStore } from './stores/store.js';

export type RenderMode =
  | { mode: 'raw'; basePath?: string }
  /** `allowRemote`: let kustomize fetch remote resources and bases (refused by default). */
  | { mode: 'kustomize'; kustomizePath: string; allowRemote?: boolean };

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
  /** How the caller asks for adoption, named in conflict reasons (default: the SMC annotation). */
  adoptHint?: string;
  maxSecretsPerResource?: number;
  /** `max_secret_size_bytes`: a cap on any one value, on top of each store's own limit. */
  maxSecretSizeBytes?: number;
  /**
   * Refusals lifted on purpose (docs/security.md), each off unless set: `pruneAll`, a pass that would
   * prune every entry the owner has; `plaintext`, a secrets file that is not SOPS-encrypted.
   */
  allow?: { pruneAll?: boolean; plaintext?: boolean };
  /**
   * How the caller's user lifts each refusal, quoted in its error (e.g. `--allow-prune-all`,
   * `spec.allowPruneAll: true`). Default: `allowPruneAll`, `allowPlaintext`.
   */
  allowSwitches?: { pruneAll?: string; plaintext?: string };
  /** Size caps on source files and rendered output (default: DEFAULT_INPUT_LIMITS). */
  limits?: Partial<InputLimits>;
  /** Plan only: read the stores, write nothing (a refusal is still raised: it is what a sync would do). */
  dryRun?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Between plan and apply (e.g. the controller's drift policy): sees each store's planned actions
   * and may settle some without the store (returning a result in the action's place) or reword them.
   */
  review?: PlanReview;
  /** Observes each stage (default: the hook installed by `withStageHook`, else none). */
  stage?: StageHook;
  /**
   * Shares rendered entries between requests for the same tree, settings and keys
   * (src/render/cache.ts; the controller's fleet of SMCs on one source). Without one, every request renders.
   */
  renderCache?: RenderCache;
}

/**
 * The pipeline's stages: `render` (raw files or kustomize, decryption included), `kustomize` (the
 * private decrypted copy and `kustomize build`), `decrypt` (one SOPS file), `plan` (read one store,
 * plan its actions), `apply` (one store's actions).
 */
export type PipelineStage = 'render' | 'kustomize' | 'decrypt' | 'plan' | 'apply';

/** Names only, never values: the file decrypted, the store type, counts. */
export type StageAttributes = Readonly<Record<string, string | number>>;

/**
 * Runs one stage: must call `run` exactly once and return (or throw) what it returns (throws).
 * Knows what the stage is, never what it handles.
 */
export type StageHook = <T>(
  stage: PipelineStage,
  attributes: StageAttributes,
  run: () => Promise<T>,
) => Promise<T>;

const ambientStageHook = new AsyncLocalStorage<StageHook>();

/** Run `fn` with `hook` observing every pipeline stage started inside it (unless a request names its own). */
export function withStageHook<T>(hook: StageHook, fn: () => Promise<T>): Promise<T> {
  return ambientStageHook.run(hook, fn);
}

function stageHookOf(req: { stage?: StageHook }): StageHook {
  return req.stage ?? ambientStageHook.getStore() ?? ((_stage, _attributes, run) => run());
}

export type ProgressEvent =
  | { stage: 'render'; entries: number }
  | { stage: 'plan'; store: string; actions: number }
  | { stage: 'apply'; store: string; done: number; total: number };

export type OutcomeResult = 'ok' | 'failed' | 'planned';

/** Per planned action: the action to apply, or the result that settles it without a store call. */
export type PlanReview = (store: SecretStore, actions: readonly Action[]) => (Action | ActionResult)[];

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
  /** Whether the entry ends up enabled, when the action says (a noop on a disabled entry: false). */
  enabled?: boolean;
}

export interface SyncResult {
  revision?: string;
  outcomes: EntryOutcome[];
  /** Number of outcomes with result `failed`. */
  failed: number;
  /** Number of store writes made (zero on a dry run and on an unchanged source). */
  writes: number;
}

/** What `renderSource` needs of a sync request. */
export type RenderRequest = Pick<
  SyncRequest,
  | 'source'
  | 'environment'
  | 'render'
  | 'sops'
  | 'owner'
  | 'prefix'
  | 'stage'
  | 'allow'
  | 'allowSwitches'
  | 'limits'
  | 'renderCache'
>;

/**
 * Stands for the SMC's own service name while a render is shared (src/render/cache.ts): a
 * directory name never holds NUL, so no service of the tree can be mistaken for it.
 */
const OWN_SERVICE = '\u0000own-service';

/**
 * Render the source into entries, decrypting SOPS files on the way. With a `renderCache` and a
 * known revision, the result is shared with every other request for the same tree, settings and
 * keys; only the SMC's own service name (prefix, else name) is filled in per request.
 */
export async function renderSource(req: RenderRequest): Promise<Entry[]> {
  const stage = stageHookOf(req);
  const ownService = req.prefix ?? req.owner.name;
  const cache = req.renderCache;
  const revision = req.source.revision;
  // Remote kustomize bases are input the revision does not pin: such a render is never shared.
  const remote = req.render.mode === 'kustomize' && req.render.allowRemote === true;
  if (!cache || revision === undefined || remote) {
    return stage('render', { mode: req.render.mode }, () => renderTree({ ...req, stage }, ownService));
  }
  const question = JSON.stringify([
    req.source.root,
    revision,
    req.environment,
    req.render,
    req.sops.enabled,
    req.allow?.plaintext ?? false,
    req.allowSwitches?.plaintext ?? null,
    req.limits ?? null,
  ]);
  const keys = req.sops.keyring?.identity;
  // `shared`: 1 when another pass's render (done or running) serves this one — no decrypt spans then.
  const shared = cache.holds(question, keys) ? 1 : 0;
  const entries = await stage('render', { mode: req.render.mode, shared }, () =>
    cache.entries(question, keys, () => renderTree({ ...req, stage }, OWN_SERVICE)),
  );
  return entries.map((e) => (e.service === OWN_SERVICE ? { ...e, service: ownService } : e));
}

/** Render the tree (decrypting on the way); inside the caller's `render` stage. */
async function renderTree(req: RenderRequest, ownService: string): Promise<Entry[]> {
  const stage = stageHookOf(req);
  const decrypt = sopsDecryptor(req.sops, stage);
  const render = req.render;
  if (render.mode === 'kustomize') {
    // A kustomize build has no service directories: its entries belong to the SMC (prefix, else name).
    const entries = await stage('kustomize', { path: render.kustomizePath }, () =>
      renderKustomize({
        root: req.source.root,
        kustomizePath: render.kustomizePath,
        decrypt,
        allowRemote: render.allowRemote ?? false,
        ...(req.limits ? { limits: req.limits } : {}),
      }),
    );
    return entries.map((e) => ({ ...e, service: ownService }));
  }
  return renderRawFiles({
    root: req.source.root,
    basePath: render.basePath,
    environment: req.environment,
    rootServiceName: ownService,
    decrypt,
    allowPlaintext: req.allow?.plaintext ?? false,
    allowPlaintextSwitch: req.allowSwitches?.plaintext ?? 'allowPlaintext',
    ...(req.limits ? { limits: req.limits } : {}),
  });
}

/** The decrypt callback render calls for each SOPS-encrypted file: decrypt it, or refuse with the reason. */
export function sopsDecryptor(sops: SyncRequest['sops'], stage?: StageHook) {
  const decrypt = async (file: string, content: Uint8Array): Promise<Uint8Array> => {
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
  if (!stage) return decrypt;
  return (file: string, content: Uint8Array) => stage('decrypt', { file }, () => decrypt(file, content));
}

export async function sync(req: SyncRequest): Promise<SyncResult> {
  const stage = stageHookOf(req);
  let entries = await renderSource({ ...req, stage });
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
  // Plan every store before applying any: the prune-all guard looks at the whole pass.
  const plans: { store: SecretStore; actions: Action[]; census: PruneCensus }[] = [];
  for (const { store, entries: desired } of named) {
    const { accepted, rejected } = checkLimits(desired, store.limits, {
      store: store.type,
      ...(req.maxSecretSizeBytes !== undefined ? { maxSecretSizeBytes: req.maxSecretSizeBytes } : {}),
    });
    for (const r of rejected) outcomes.push(outcome(store, r.entry, 'failed', r.message));
    const planned = await stage('plan', { store: store.type, entries: desired.length }, async () => {
      const actual = await store.read(
        req.owner,
        desired.map((e) => e.storeName),
      );
      const input = {
        desired: accepted,
        actual,
        owner: req.owner,
        deletionPolicy: req.deletionPolicy,
        triggerUpdate: req.triggerUpdate,
        adopt: req.adopt,
        adoptHint: req.adoptHint,
        // An entry refused for its size is still in Git: neither write nor prune it.
        held: rejected.map((r) => r.entry.storeName),
      };
      const actions = planActions(input);
      return { actions, census: pruneCensus(input, actions) };
    });
    req.onProgress?.({ stage: 'plan', store: store.target, actions: planned.actions.length });
    plans.push({ store, ...planned });
  }
  if (!req.allow?.pruneAll) {
    refusePruneAll(
      plans.map((p) => p.census),
      {
        owner: req.owner,
        deletionPolicy: req.deletionPolicy,
        rendered: entries.length,
        allowSwitch: req.allowSwitches?.pruneAll ?? 'allowPruneAll',
      },
    );
  }

  let writes = 0;
  for (const { store, actions } of plans) {
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
    const results = await stage('apply', { store: store.type, actions: actions.length }, () =>
      applyPlan(store, req.owner, actions, req.review),
    );
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
        ...(r.action.enabled !== undefined ? { enabled: r.action.enabled } : {}),
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

/** Apply one store's planned actions, after `review` when given; one result per action, in order. */
export async function applyPlan(
  store: SecretStore,
  owner: Owner,
  actions: readonly Action[],
  review?: PlanReview,
): Promise<ActionResult[]> {
  if (!review) return store.apply(owner, actions);
  const reviewed = review(store, actions);
  const pass = reviewed.filter(isAction);
  const applied = pass.length ? await store.apply(owner, pass) : [];
  let next = 0;
  return reviewed.map((r) => (isAction(r) ? applied[next++]! : r));
}

function isAction(x: Action | ActionResult): x is Action {
  return !('action' in x);
}

/**
 * The pipeline's second entry point, for a SecretManagerConfig being deleted: apply `policy` to every
 * entry `owner` owns in `store`, planned as if Git were empty. Retain makes no call at all. Deleting
 * the SMC is an explicit intent, so the prune-all refusal does not apply.
 */
export async function pruneOwned(
  store: SecretStore,
  owner: Owner,
  policy: DeletionPolicy,
): Promise<{ results: ActionResult[]; planned: Action[] }> {
  if (policy === 'Retain') return { results: [], planned: [] };
  const actual = await store.read(owner, []);
  const planned = planActions({
    desired: [],
    actual,
    owner,
    deletionPolicy: policy,
    triggerUpdate: true,
    adopt: false,
  }).filter((a) => a.type === 'prune');
  if (planned.length === 0) return { results: [], planned };
  return { results: await store.apply(owner, planned), planned };
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
