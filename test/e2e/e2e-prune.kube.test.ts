/**
 * Keys removed from Git end to end (docs/providers.md "Deletion", "Disable"): the controller as a separate
 * process (its ServiceAccount, the shipped RBAC) against the GCP Secret Manager emulator. One Flux
 * source, three SMCs that differ only in `deletionPolicy` and project. A revision without one key:
 * Retain keeps the entry (enabled, value readable), Disable disables its versions, Delete deletes it;
 * the other entries get no write. A commented-out key (`#KEY=value`) disables the entry; uncommenting
 * it re-enables the same version.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpSecretManagerPeer, startGcpSecretManager } from '../peers/cloud/index.js';
import {
  type ArtifactServer,
  type FluxArtifact,
  createFluxSource,
  gitRevision,
  setFluxArtifact,
  startArtifactServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';
import { type ControllerProcess, startController } from './controller-process.js';
import { removeShippedRbac, shippedRbacAccess } from './rbac.js';
import { type SmcStatusView, condition, smcClient } from './smc.js';

const kube = useKube();
const ENV_FILE = 'svc/deployment-configuration/profiles/dev/application.secrets.env';
const POLICIES = ['Retain', 'Disable', 'Delete'] as const;
type Policy = (typeof POLICIES)[number];

let gcp: GcpSecretManagerPeer;
let artifacts: ArtifactServer;
let controller: ControllerProcess;
let scratch: string;
let ns: string;
let smcs: ReturnType<typeof smcClient>;
const project = {} as Record<Policy, string>;
const smcName = (p: Policy) => `prune-${p.toLowerCase()}`;
const VALUES = { KEEP: 'prune-canary-keep-1', OTHER: 'prune-canary-other-2', GONE: 'prune-canary-gone-3' };

let commitN = 0;
async function publish(envFile: string): Promise<FluxArtifact> {
  const tree = await mkdtemp(join(scratch, 'tree-'));
  await mkdir(join(tree, ENV_FILE, '..'), { recursive: true });
  await writeFile(join(tree, ENV_FILE), envFile);
  const ref = { kind: 'GitRepository' as const, namespace: ns, name: 'config' };
  const artifact = await artifacts.publishDirectory(ref, tree, {
    revision: gitRevision('main', (++commitN).toString(16).padStart(40, '0')),
  });
  await setFluxArtifact(kube(), ref, artifact);
  return artifact;
}

/** Every version of every secret in a project: `secret → [state per version]`, oldest first. */
async function storeState(p: string): Promise<Record<string, string[]>> {
  const [secrets] = await gcp.client().listSecrets({ parent: `projects/${p}` });
  const out: Record<string, string[]> = {};
  for (const s of secrets) {
    const [versions] = await gcp.client().listSecretVersions({ parent: s.name! });
    out[s.name!.split('/').pop()!] = versions
      .sort((a, b) => Number(a.name!.split('/').pop()) - Number(b.name!.split('/').pop()))
      .map((v) => String(v.state));
  }
  return out;
}

const gcpValue = (project: string, secret: string) => gcp.latestValue(project, secret);

function entry(s: SmcStatusView, storeName: string) {
  return s.entries?.find((e) => e.storeName === storeName);
}

async function synced(name: string, revision: string): Promise<SmcStatusView> {
  return smcs.waitStatus(name, (x) => x.phase === 'Synced' && x.lastSyncedRevision === revision);
}

const requestReconcile = (name: string, token: string) => smcs.reconcileAndWait(name, token);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-e2e-prune-'));
  [gcp, artifacts] = await Promise.all([startGcpSecretManager(), startArtifactServer()]);
  ns = await kube().createNamespace('e2e-prune');
  await createFluxSource(kube(), { kind: 'GitRepository', namespace: ns, name: 'config' });
  const access = await shippedRbacAccess(kube(), ns);
  controller = await startController({
    KUBECONFIG: access.kubeconfigPath,
    SMC_GCP_SECRET_MANAGER_ENDPOINT: `http://${gcp.endpoint.host}:${gcp.endpoint.port}`,
    METADATA_SERVER_DETECTION: 'none',
    WATCH_NAMESPACES: ns,
    POD_NAMESPACE: ns,
    BACKOFF_BASE_MS: '200',
    BACKOFF_MAX_MS: '2000',
    LOG_LEVEL: 'debug',
  });
  smcs = smcClient(kube, ns, () => controller.log());
}, 120_000);

afterAll(async () => {
  const code = await controller?.stop();
  await removeShippedRbac(kube(), ns);
  await Promise.all([gcp?.stop(), artifacts?.stop()]);
  await rm(scratch, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('keys removed from Git, per deletionPolicy', () => {
  it('first revision: every SMC syncs the three keys', async () => {
    const r1 = await publish(`KEEP=${VALUES.KEEP}\nOTHER=${VALUES.OTHER}\nGONE=${VALUES.GONE}\n`);
    for (const p of POLICIES) {
      project[p] = gcp.newProject();
      await smcs.create(smcName(p), {
        sourceRef: { kind: 'GitRepository', name: 'config' },
        provider: { gcp: { projectId: project[p] } },
        secrets: { environment: 'dev', sops: { enabled: false }, allowPlaintext: true }, // plain fixtures
        deletionPolicy: p,
      });
    }
    for (const p of POLICIES) {
      const s = await synced(smcName(p), r1.revision);
      expect(s.entries?.map((e) => `${e.storeName}:${e.state}`).sort()).toEqual([
        'svc-GONE:Synced',
        'svc-KEEP:Synced',
        'svc-OTHER:Synced',
      ]);
      expect(await storeState(project[p])).toEqual({
        'svc-GONE': ['ENABLED'],
        'svc-KEEP': ['ENABLED'],
        'svc-OTHER': ['ENABLED'],
      });
    }
  });

  it('a revision without GONE: Retain keeps it, Disable disables it, Delete deletes it; nothing else changes', async () => {
    const r2 = await publish(`KEEP=${VALUES.KEEP}\nOTHER=${VALUES.OTHER}\n`);
    const s = {} as Record<Policy, SmcStatusView>;
    for (const p of POLICIES) s[p] = await synced(smcName(p), r2.revision);

    // Retain: still there, enabled, same single version, value readable; reported as synced.
    expect(await storeState(project.Retain)).toEqual({
      'svc-GONE': ['ENABLED'],
      'svc-KEEP': ['ENABLED'],
      'svc-OTHER': ['ENABLED'],
    });
    expect(await gcpValue(project.Retain, 'svc-GONE')).toBe(VALUES.GONE);
    expect(entry(s.Retain, 'svc-GONE')?.state).toBe('Synced');
    expect(s.Retain.secretsCount).toBe(3);

    // Disable: the entry stays, its version disabled.
    expect(await storeState(project.Disable)).toEqual({
      'svc-GONE': ['DISABLED'],
      'svc-KEEP': ['ENABLED'],
      'svc-OTHER': ['ENABLED'],
    });
    expect(entry(s.Disable, 'svc-GONE')).toMatchObject({ state: 'Disabled' });
    expect(entry(s.Disable, 'svc-GONE')?.message).toContain('deletionPolicy Disable');
    expect(s.Disable.secretsCount).toBe(2);

    // Delete: gone from the store (reported once as removed, with the reason).
    expect(await storeState(project.Delete)).toEqual({
      'svc-KEEP': ['ENABLED'],
      'svc-OTHER': ['ENABLED'],
    });
    expect(entry(s.Delete, 'svc-GONE')?.message ?? 'deletionPolicy Delete').toContain(
      'deletionPolicy Delete',
    );
    expect(s.Delete.secretsCount).toBe(2);

    for (const p of POLICIES) {
      expect(condition(s[p], 'Ready')?.status).toBe('True');
      for (const k of ['svc-KEEP', 'svc-OTHER']) expect(entry(s[p], k)?.state).toBe('Synced');
      expect(await gcpValue(project[p], 'svc-KEEP')).toBe(VALUES.KEEP);
      expect(JSON.stringify(s[p])).not.toContain('prune-canary');
    }
  });

  it('a commented-out key (#OTHER=…) disables the entry; uncommenting it restores the same version', async () => {
    const r3 = await publish(`KEEP=${VALUES.KEEP}\n#OTHER=${VALUES.OTHER}\n`);
    const s = await synced(smcName('Retain'), r3.revision);
    expect(entry(s, 'svc-OTHER')).toMatchObject({ key: 'OTHER', state: 'Disabled' });
    expect(entry(s, 'svc-KEEP')?.state).toBe('Synced');
    expect(await storeState(project.Retain)).toEqual({
      'svc-GONE': ['ENABLED'],
      'svc-KEEP': ['ENABLED'],
      'svc-OTHER': ['DISABLED'],
    });
    expect(await gcpValue(project.Retain, 'svc-OTHER')).toBeUndefined();
    // The commented-out key is disabled whatever the deletionPolicy: never deleted.
    const d = await synced(smcName('Delete'), r3.revision);
    expect(entry(d, 'svc-OTHER')?.state).toBe('Disabled');
    expect((await storeState(project.Delete))['svc-OTHER']).toEqual(['DISABLED']);

    const r4 = await publish(`KEEP=${VALUES.KEEP}\nOTHER=${VALUES.OTHER}\n`);
    const back = await synced(smcName('Retain'), r4.revision);
    expect(entry(back, 'svc-OTHER')?.state).toBe('Synced');
    expect(await gcpValue(project.Retain, 'svc-OTHER')).toBe(VALUES.OTHER);
    // Re-enabled, not rewritten: still the one version.
    expect(await storeState(project.Retain)).toEqual({
      'svc-GONE': ['ENABLED'],
      'svc-KEEP': ['ENABLED'],
      'svc-OTHER': ['ENABLED'],
    });
    const del = await synced(smcName('Delete'), r4.revision);
    expect(entry(del, 'svc-OTHER')?.state).toBe('Synced');
    expect((await storeState(project.Delete))['svc-OTHER']).toEqual(['ENABLED']);
  });

  it('a later full pass (reconcile request) writes nothing and still reports the disabled entries as Disabled', async () => {
    const r5 = await publish(`KEEP=${VALUES.KEEP}\n#OTHER=${VALUES.OTHER}\n`);
    for (const p of ['Retain', 'Disable'] as const) await synced(smcName(p), r5.revision);
    const before = { Retain: await storeState(project.Retain), Disable: await storeState(project.Disable) };
    expect(before.Disable).toEqual({
      'svc-GONE': ['DISABLED'],
      'svc-KEEP': ['ENABLED'],
      'svc-OTHER': ['DISABLED'],
    });
    const retain = await requestReconcile(smcName('Retain'), 'full-pass-1');
    const disable = await requestReconcile(smcName('Disable'), 'full-pass-1');
    // Nothing is written again (not pruned twice, not disabled twice).
    expect(await storeState(project.Retain)).toEqual(before.Retain);
    expect(await storeState(project.Disable)).toEqual(before.Disable);
    expect(entry(retain, 'svc-GONE')?.state).toBe('Synced'); // retained, still enabled
    expect(entry(retain, 'svc-OTHER')?.state).toBe('Disabled');
    expect(retain.secretsCount).toBe(2);
    expect(entry(disable, 'svc-GONE')?.state).toBe('Disabled');
    expect(entry(disable, 'svc-OTHER')?.state).toBe('Disabled');
    expect(disable.secretsCount).toBe(1);
  });
});
