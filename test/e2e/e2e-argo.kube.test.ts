/**
 * The Argo CD path end to end, the controller as a separate process with the shipped RBAC: an
 * Application pointing at a repository on a local Git smart-HTTP server → SecretManagerConfig →
 * the GCP Secret Manager emulator. An Application change is acted on at once; the periodic
 * `git ls-remote` (gitRepositoryPullInterval) picks up a new commit, and finds nothing to do —
 * no fetch, no provider call — when the remote is unchanged. A private repository is read with a
 * `gitCredentials` Secret and with an Argo CD repository Secret; wrong credentials give
 * SourceReady=False / GitAuthFailed and leak the password nowhere.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcpSecretManager, type GcpSecretManagerPeer } from '../peers/cloud/index.js';
import {
  ARGO_GROUP,
  ARGO_VERSION,
  type GitRepo,
  type GitServer,
  createArgoApplication,
  startGitServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController, waitFor } from './controller-process.js';
import { grantArgoRepositorySecrets, removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { condition, smcClient } from './smc.js';

const kube = useKube();
const ENV_FILE = 'config/payments/deployment-configuration/profiles/dev/application.secrets.env';
/** The private server's real password and a wrong one: neither may appear anywhere. */
const CANARY = 'canary-git-pw-7f3a91c4e2';
const WRONG_CANARY = 'canary-wrong-pw-5b8d06e1aa';

let gcp: GcpSecretManagerPeer;
let publicGit: GitServer;
let privateGit: GitServer;
let controller: ControllerProcess;
let ns: string;
let smcs: ReturnType<typeof smcClient>;

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

async function waitGcpValue(project: string, secret: string, want: string, timeoutMs = 30_000) {
  return waitFor(
    `${secret} = ${want}`,
    async () => ((await gcpValue(project, secret)) === want ? true : undefined),
    { timeoutMs, log: () => controller.log() },
  );
}

/** `git ls-remote`/fetch round trips the server has answered for one repository. */
function refAdvertisements(server: GitServer, repo: GitRepo): number {
  return server.requests.filter((r) => r.startsWith(`GET /${repo.name}.git/info/refs`)).length;
}

async function patchApplication(name: string, body: Record<string, unknown>) {
  await kube()
    .client(CustomObjectsApi)
    .patchNamespacedCustomObject(
      { group: ARGO_GROUP, version: ARGO_VERSION, namespace: ns, plural: 'applications', name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

function descriptionOf(s: object): string {
  return (s as { description?: string }).description ?? '';
}

const patchSmc = (name: string, spec: Record<string, unknown>) => smcs.patch(name, { spec });

const waitEvent = (name: string, reason: string) => smcs.waitEvent(name, reason);

async function createSecret(
  name: string,
  stringData: Record<string, string>,
  labels?: Record<string, string>,
) {
  await kube()
    .client(CoreV1Api)
    .createNamespacedSecret({ namespace: ns, body: { metadata: { name, labels }, stringData } });
}

function gcpSpec(project: string, app: string, extra: Record<string, unknown> = {}) {
  return {
    sourceRef: { kind: 'Application', name: app, ...extra },
    provider: { gcp: { projectId: project } },
    secrets: { environment: 'dev', allowPlaintext: true }, // the repositories hold plain fixtures
    gitRepositoryPullInterval: '1m',
  };
}

beforeAll(async () => {
  [gcp, publicGit, privateGit] = await Promise.all([
    startGcpSecretManager(),
    startGitServer(),
    startGitServer({ auth: { username: 'smc-reader', password: CANARY } }),
  ]);
  ns = await kube().createNamespace('e2e-argo');
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    // The CRD's minimum pull interval is 1m; this floor (default 60) must not raise it.
    MIN_GIT_PULL_INTERVAL_SECS: '1',
    // No store verification during the test: "no provider call" must come from the pull alone.
    DRIFT_CHECK_INTERVAL: '1h',
    LOG_LEVEL: 'debug',
  });
  smcs = smcClient(kube, ns, () => controller.log());
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await Promise.all([gcp?.stop(), publicGit?.stop(), privateGit?.stop()]);
  expect(code).toBe(0);
});

describe('Argo CD Application → SecretManagerConfig → GCP Secret Manager', () => {
  let project: string;
  let repo: GitRepo;

  it('syncs the Application path at its commit: Synced, SourceReady=True, lastSyncedRevision = SHA', async () => {
    project = gcp.newProject();
    repo = await publicGit.createRepo('config', { [ENV_FILE]: 'API_KEY=alpha-1\nDB_USER=payments\n' });
    await createArgoApplication(kube(), ns, 'payments', {
      repoURL: repo.url,
      path: 'config',
      targetRevision: 'main',
    });
    await smcs.create('payments', gcpSpec(project, 'payments'));
    const sha = await repo.head();
    const s = await smcs.waitStatus('payments', (x) => x.phase === 'Synced');
    expect(s.lastSyncedRevision).toBe(sha);
    expect(condition(s, 'SourceReady')?.status).toBe('True');
    expect(condition(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(await gcpValue(project, 'payments-API_KEY')).toBe('alpha-1');
    expect(await gcpValue(project, 'payments-DB_USER')).toBe('payments');
    expect(await controller.metric('secret_manager_git_fetch_duration_seconds_count')).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('an Application change (a new status.sync.revision) is acted on at once', async () => {
    const sha = await repo.commit({ [ENV_FILE]: 'API_KEY=alpha-2\nDB_USER=payments\n' }, 'rotate');
    const t0 = performance.now();
    await patchApplication('payments', { status: { sync: { status: 'Synced', revision: sha } } });
    await waitGcpValue(project, 'payments-API_KEY', 'alpha-2', 20_000);
    console.log(`Application change → new value in the store: ${Math.round(performance.now() - t0)} ms`);
    const s = await smcs.waitStatus('payments', (x) => x.lastSyncedRevision === sha);
    expect(s.phase).toBe('Synced');
  });

  it('the periodic ls-remote: an unchanged remote costs no fetch and no provider call; a new commit lands', async () => {
    const fetches = await controller.metric('secret_manager_git_fetch_duration_seconds_count');
    const providerCalls = await controller.metric('secret_manager_provider_operations_total');
    const skipped = await controller.metric('secret_manager_reconciliations_total', { result: 'skipped' });
    const polls = refAdvertisements(publicGit, repo);
    const t0 = performance.now();
    // The next pull (gitRepositoryPullInterval 1m) finds the same commit: a skipped reconcile.
    await waitFor(
      'a periodic ls-remote that finds nothing new',
      async () =>
        refAdvertisements(publicGit, repo) > polls &&
        (await controller.metric('secret_manager_reconciliations_total', { result: 'skipped' })) > skipped
          ? true
          : undefined,
      { timeoutMs: 90_000, intervalMs: 500, log: () => controller.log() },
    );
    console.log(`first periodic ls-remote after ${Math.round(performance.now() - t0)} ms`);
    expect(await controller.metric('secret_manager_git_fetch_duration_seconds_count')).toBe(fetches);
    expect(await controller.metric('secret_manager_provider_operations_total')).toBe(providerCalls);

    // A commit with no Application change: only the pull can see it.
    const sha = await repo.commit({ [ENV_FILE]: 'API_KEY=alpha-3\nDB_USER=payments\n' }, 'rotate again');
    const t1 = performance.now();
    await waitGcpValue(project, 'payments-API_KEY', 'alpha-3', 90_000);
    console.log(`new commit → value in the store through the pull: ${Math.round(performance.now() - t1)} ms`);
    const s = await smcs.waitStatus('payments', (x) => x.lastSyncedRevision === sha);
    expect(s.phase).toBe('Synced');
    expect(await controller.metric('secret_manager_git_fetch_duration_seconds_count')).toBeGreaterThan(
      fetches,
    );
  }, 200_000);
});

describe('private repositories', () => {
  let repo: GitRepo;
  let project: string;

  beforeAll(async () => {
    repo = await privateGit.createRepo('private', { [ENV_FILE]: 'API_KEY=private-1\n' });
    project = gcp.newProject();
  });

  it('reads the repository with a gitCredentials Secret', async () => {
    await createSecret('git-creds', { username: 'smc-reader', password: CANARY });
    await createArgoApplication(kube(), ns, 'private-a', { repoURL: repo.url, path: 'config' });
    await smcs.create('private-a', gcpSpec(project, 'private-a', { gitCredentials: { name: 'git-creds' } }));
    const s = await smcs.waitStatus('private-a', (x) => x.phase === 'Synced');
    expect(s.lastSyncedRevision).toBe(await repo.head());
    expect(await gcpValue(project, 'payments-API_KEY')).toBe('private-1');
  });

  it("reads the repository with Argo CD's repository Secret (matched by URL) once granted list on Secrets there", async () => {
    const other = gcp.newProject();
    await createSecret(
      'repo-private',
      { type: 'git', url: `${repo.url}/`, username: 'smc-reader', password: CANARY },
      { 'argocd.argoproj.io/secret-type': 'repository' },
    );
    await createArgoApplication(kube(), ns, 'private-b', { repoURL: repo.url, path: 'config' });
    await smcs.create('private-b', gcpSpec(other, 'private-b'));
    // The shipped RBAC lists no Secrets: the repository is read without credentials, and the
    // failure says where credentials come from.
    const denied = await smcs.waitStatus(
      'private-b',
      (x) => condition(x, 'Ready')?.reason === 'GitAuthFailed',
    );
    expect(condition(denied, 'Ready')?.message).toContain(
      `no Git credentials were found: name a Secret in spec.sourceRef.gitCredentials, or grant the controller list on Secrets in namespace ${ns}`,
    );
    // The documented grant (config/rbac/argocd-repository-secrets.yaml) for this namespace.
    await grantArgoRepositorySecrets(kube(), ns, ns);
    const s = await smcs.waitStatus('private-b', (x) => x.phase === 'Synced');
    expect(s.lastSyncedRevision).toBe(await repo.head());
    expect(await gcpValue(other, 'payments-API_KEY')).toBe('private-1');
  });

  it('wrong credentials: SourceReady=False / GitAuthFailed, no password in status, events or log', async () => {
    await createSecret('bad-creds', { username: 'smc-reader', password: WRONG_CANARY });
    await createArgoApplication(kube(), ns, 'private-c', { repoURL: repo.url, path: 'config' });
    await smcs.create(
      'private-c',
      gcpSpec(gcp.newProject(), 'private-c', { gitCredentials: { name: 'bad-creds' } }),
    );
    const s = await smcs.waitStatus('private-c', (x) => condition(x, 'SourceReady')?.status === 'False');
    expect(condition(s, 'SourceReady')?.reason).toBe('GitAuthFailed');
    expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'GitAuthFailed' });
    expect(condition(s, 'Ready')?.message).toContain(`Application ${ns}/private-c`);
    expect(condition(s, 'Ready')?.message).toContain(repo.url);
    const events = await waitFor(
      'the GitAuthFailed Event',
      async () => {
        const list = await kube().client(CoreV1Api).listNamespacedEvent({
          namespace: ns,
          fieldSelector: 'involvedObject.name=private-c,reason=GitAuthFailed',
        });
        return list.items.length > 0 ? list.items : undefined;
      },
      { log: () => controller.log() },
    );
    const all = await kube().client(CoreV1Api).listNamespacedEvent({ namespace: ns });
    for (const canary of [CANARY, WRONG_CANARY]) {
      expect(JSON.stringify(s)).not.toContain(canary);
      expect(JSON.stringify(events)).not.toContain(canary);
      expect(JSON.stringify(all.items)).not.toContain(canary);
      expect(controller.log()).not.toContain(canary);
    }
    expect(privateGit.requests.some((r) => r.endsWith(' 401'))).toBe(true);
  });

  it('suspendGitPulls on an Application SMC: visible in status and as Events', async () => {
    await patchSmc('private-a', { suspendGitPulls: true });
    const s = await smcs.waitStatus('private-a', (x) =>
      descriptionOf(x).includes('periodic Git pulls are suspended'),
    );
    expect(s.phase).toBe('Synced');
    await waitEvent('private-a', 'GitPullsSuspended');
    await patchSmc('private-a', { suspendGitPulls: false });
    await waitEvent('private-a', 'GitPullsResumed');
    await smcs.waitStatus(
      'private-a',
      (x) => x.phase === 'Synced' && !descriptionOf(x).includes('periodic Git pulls are suspended'),
    );
  });
});
