/**
 * The reconciler on an Argo CD Application source, without a cluster but against a real Git
 * smart-HTTP server (git http-backend) and the real fetcher: the pull schedule
 * (gitRepositoryPullInterval, its settings floor, suspendGitPulls), "nothing changed, nothing
 * called" (no ls-remote between pulls, no fetch and no store for an unchanged remote), new commits,
 * and the source errors.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretManagerConfigStatus } from '../../src/api/index.js';
import type { ArgoApplicationObject } from '../../src/controller/sources/argo-source.js';
import { SmcMemory } from '../../src/controller/smc-memory.js';
import { type ReconcileWorld, type SmcObject, reconcile } from '../../src/controller/reconcile.js';
import { type GitCredentials, fetchArgoGit, lsRemoteRevision } from '../../src/source/argo-git.js';
import { LocalDirStore } from '../../src/stores/local/index.js';
import type { SecretStore } from '../../src/stores/store.js';
import { type GitRepo, type GitServer, startGitServer } from '../peers/gitops/git-server.js';

const ENV_FILE = 'config/payments/deployment-configuration/profiles/dev/application.secrets.env';
const CANARY = 'canary-unit-git-pw-3c9e1f';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;

let server: GitServer;
let privateServer: GitServer;
let repo: GitRepo;
let scratch: string;

beforeAll(async () => {
  [server, privateServer] = await Promise.all([
    startGitServer(),
    startGitServer({ auth: { username: 'u', password: CANARY } }),
  ]);
  repo = await server.createRepo('config', { [ENV_FILE]: 'API_KEY=one\n' });
  scratch = await mkdtemp(path.join(tmpdir(), 'smc-argo-reconcile-'));
});

afterAll(async () => {
  await Promise.all([server?.stop(), privateServer?.stop()]);
  await rm(scratch, { recursive: true, force: true });
});

function application(repoURL: string, extra: Record<string, unknown> = {}): ArgoApplicationObject {
  return {
    metadata: { name: 'payments', namespace: 'team-a' },
    spec: { project: 'default', source: { repoURL, path: 'config', targetRevision: 'main' }, ...extra },
  };
}

/** A world with real git calls, counted; `at` is the reconcile's clock (ms after T0). */
function argoWorld(opts: {
  app: ArgoApplicationObject | undefined;
  credentials?: GitCredentials;
  minPullIntervalMs?: number;
  storeDir: string;
  cacheDir: string;
}) {
  const calls = { lsRemote: 0, fetch: 0, stores: 0 };
  const memory = new SmcMemory();
  let at = 0;
  const world = (): ReconcileWorld => ({
    now: () => new Date(T0 + at),
    source: undefined,
    fetchArtifact: () => Promise.reject(new Error('not a Flux source')),
    sopsKeyring: () => Promise.resolve(undefined),
    openStores: () => {
      calls.stores++;
      return { secretStore: new LocalDirStore(opts.storeDir) as SecretStore };
    },
    driftCheckIntervalMs: 3_600_000,
    minReconcileIntervalMs: 30_000,
    argo: {
      application: opts.app,
      credentials: () => Promise.resolve(opts.credentials),
      lsRemote: (src, credentials) => {
        calls.lsRemote++;
        return lsRemoteRevision({ ...src, ...(credentials ? { credentials } : {}) });
      },
      fetch: async (src, commit, credentials) => {
        calls.fetch++;
        return fetchArgoGit({
          repoURL: src.repoURL,
          targetRevision: commit,
          path: src.path,
          cacheDir: opts.cacheDir,
          ...(credentials ? { credentials } : {}),
        });
      },
      lastPull: memory.peek('team-a/payments')?.lastPull,
      recordPull: (rec) => memory.recordPull('team-a/payments', rec),
      minPullIntervalMs: opts.minPullIntervalMs ?? 1_000,
    },
  });
  return {
    calls,
    memory,
    world,
    at: (ms: number) => {
      at = ms;
    },
  };
}

function smc(
  spec: Record<string, unknown>,
  status?: SecretManagerConfigStatus,
  generation = 1,
  namespace = 'team-a',
): SmcObject {
  return {
    metadata: { name: 'payments', namespace, generation, uid: 'u-1' },
    spec: {
      sourceRef: { kind: 'Application', name: 'payments', namespace: 'team-a' },
      provider: { gcp: { projectId: 'my-project-1' } },
      secrets: { environment: 'dev', allowPlaintext: true }, // the fixture's secrets file is plain
      reconcileInterval: '10m',
      gitRepositoryPullInterval: '2m',
      ...spec,
    },
    status,
  };
}

async function dirs() {
  const d = await mkdtemp(path.join(scratch, 'case-'));
  return { storeDir: path.join(d, 'store'), cacheDir: path.join(d, 'cache') };
}

describe('reconcile: Argo CD Application source', () => {
  it('pulls on the interval; between pulls and for an unchanged remote nothing is called', async () => {
    const r = argoWorld({ app: application(repo.url), ...(await dirs()) });
    const first = await reconcile(smc({}), r.world());
    expect(first.result).toBe('success');
    expect(first.status.lastSyncedRevision).toBe(await repo.head());
    expect(first.status.conditions?.find((c) => c.type === 'SourceReady')?.status).toBe('True');
    expect(r.calls).toEqual({ lsRemote: 1, fetch: 1, stores: 1 });
    // The next run is the pull (2m), before reconcileInterval (10m).
    expect(first.requeueAfterMs).toBe(2 * MIN);

    // A periodic reconcile before the pull is due: no Git, no store.
    r.at(MIN);
    const between = await reconcile(smc({}, first.status), r.world());
    expect(between.result).toBe('skipped');
    expect(r.calls).toEqual({ lsRemote: 1, fetch: 1, stores: 1 });
    expect(between.requeueAfterMs).toBe(MIN);

    // The pull is due: one ls-remote, same commit, no fetch, no store.
    r.at(2 * MIN);
    const pulled = await reconcile(smc({}, between.status), r.world());
    expect(pulled.result).toBe('skipped');
    expect(r.calls).toEqual({ lsRemote: 2, fetch: 1, stores: 1 });

    // A new commit: the next pull fetches exactly it and syncs.
    const sha = await repo.commit({ [ENV_FILE]: 'API_KEY=two\n' });
    r.at(4 * MIN);
    const changed = await reconcile(smc({}, pulled.status), r.world());
    expect(changed).toMatchObject({ result: 'success', writes: 1, revision: sha });
    expect(changed.status.lastSyncedRevision).toBe(sha);
    expect(r.calls).toEqual({ lsRemote: 3, fetch: 2, stores: 2 });
  });

  it('min_git_pull_interval_secs raises the interval; suspendGitPulls stops the periodic pulls', async () => {
    const d = await dirs();
    const r = argoWorld({ app: application(repo.url), minPullIntervalMs: 7 * MIN, ...d });
    const first = await reconcile(smc({ reconcileInterval: '30m' }), r.world());
    expect(first.requeueAfterMs).toBe(7 * MIN);
    // suspendGitPulls (a new generation): one pull for the spec change, then none.
    r.at(MIN);
    const suspended = await reconcile(
      smc({ reconcileInterval: '30m', suspendGitPulls: true }, first.status, 2),
      r.world(),
    );
    expect(suspended.result).toBe('success');
    expect(suspended.status.description).toContain('periodic Git pulls are suspended');
    expect(suspended.requeueAfterMs).toBe(30 * MIN);
    expect(r.calls.lsRemote).toBe(2);
    r.at(60 * MIN);
    const later = await reconcile(
      smc({ reconcileInterval: '30m', suspendGitPulls: true }, suspended.status, 2),
      r.world(),
    );
    expect(later.result).toBe('skipped');
    expect(r.calls.lsRemote).toBe(2);
  });

  it('an Application change (a forgotten pull) and a reconcile request pull at once', async () => {
    const r = argoWorld({ app: application(repo.url), ...(await dirs()) });
    const first = await reconcile(smc({}), r.world());
    r.memory.forgetPull('team-a/payments');
    r.at(1_000);
    await reconcile(smc({}, first.status), r.world());
    expect(r.calls.lsRemote).toBe(2);
    const requested: SmcObject = {
      ...smc({}, first.status),
      metadata: { ...smc({}).metadata, annotations: { 'reconcile.fluxcd.io/requestedAt': 'now' } },
    };
    await reconcile(requested, r.world());
    expect(r.calls.lsRemote).toBe(3);
  });

  it('source problems: missing Application, no Git source, no Argo support, another namespace', async () => {
    const d = await dirs();
    const missing = await reconcile(smc({}), argoWorld({ app: undefined, ...d }).world());
    expect(missing.status.conditions?.find((c) => c.type === 'SourceReady')).toMatchObject({
      status: 'False',
      reason: 'SourceNotFound',
      message: 'waiting for Application team-a/payments: not found (create it, or fix spec.sourceRef)',
    });
    expect(missing.retry).toBe(true);

    const helm = argoWorld({
      app: {
        spec: { source: { repoURL: 'https://charts.example.com', chart: 'x', targetRevision: '1.0.0' } },
      },
      ...d,
    });
    const chart = await reconcile(smc({}), helm.world());
    expect(chart.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'UnsupportedSource' });
    expect(chart.retry).toBe(false);
    expect(helm.calls).toEqual({ lsRemote: 0, fetch: 0, stores: 0 });

    const { argo: _argo, ...noArgo } = argoWorld({ app: application(repo.url), ...d }).world();
    const unsupported = await reconcile(smc({}), noArgo);
    expect(unsupported.status.conditions?.[0]?.reason).toBe('UnsupportedSource');

    const cross = argoWorld({ app: application(repo.url), ...d });
    const denied = await reconcile(smc({}, undefined, 1, 'team-b'), {
      ...cross.world(),
      noCrossNamespaceRefs: true,
    });
    expect(denied.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'AccessDenied' });
    expect(denied.status.conditions?.[0]?.message).toContain('no_cross_namespace_refs');
    expect(cross.calls).toEqual({ lsRemote: 0, fetch: 0, stores: 0 });
  });

  it('wrong credentials: GitAuthFailed, retried, SourceReady=False, the password nowhere', async () => {
    const priv = await privateServer.createRepo('private', { [ENV_FILE]: 'API_KEY=p\n' });
    const d = await dirs();
    const bad = argoWorld({
      app: application(priv.url),
      credentials: { username: 'u', password: `${CANARY}-wrong` },
      ...d,
    });
    const r = await reconcile(smc({}), bad.world());
    expect(r.retry).toBe(true);
    expect(r.status.conditions?.find((c) => c.type === 'SourceReady')).toMatchObject({
      status: 'False',
      reason: 'GitAuthFailed',
    });
    expect(r.error?.message).toContain(`Application team-a/payments: cannot list ${priv.url}`);
    expect(JSON.stringify(r)).not.toContain(CANARY);
    expect(bad.calls).toEqual({ lsRemote: 1, fetch: 0, stores: 0 });

    const good = argoWorld({
      app: application(priv.url),
      credentials: { username: 'u', password: CANARY },
      ...d,
    });
    const ok = await reconcile(smc({}), good.world());
    expect(ok.result).toBe('success');
    expect(await readFile(path.join(d.storeDir, 'payments-API_KEY'), 'utf8')).toBe('p');
  });
});
