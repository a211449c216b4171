/**
 * Smoke test of the GitOps peers: the Flux-compatible artifact server, Flux source / Argo CD
 * Application objects in the real kube-apiserver, and the Git smart-HTTP server.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { x as tarExtract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArtifactServer,
  type FluxSourceKind,
  type GitServer,
  createArgoApplication,
  createFluxSource,
  downloadArtifact,
  getFluxSource,
  git,
  gitEnv,
  gitRevision,
  setFluxArtifact,
  sha256Digest,
  startArtifactServer,
  startGitServer,
} from '../peers/gitops/index.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
let scratch: string;
let artifacts: ArtifactServer;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'smc-gitops-smoke-'));
  artifacts = await startArtifactServer();
});
afterAll(async () => {
  await artifacts?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), content);
  }
}

const TREE = {
  'payments/deployment-configuration/profiles/dev/application.secrets.env': 'DB_PASSWORD=ENC[...]\n',
  'payments/deployment-configuration/profiles/dev/application.properties': 'feature.x=true\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
};

describe('Flux-compatible artifact server', () => {
  it('serves a tarball of a directory whose download matches the reported sha256 digest', async () => {
    const src = join(scratch, 'tree');
    await writeTree(src, TREE);
    const ref = { kind: 'GitRepository', namespace: 'flux-system', name: 'config' };
    const artifact = await artifacts.publishDirectory(ref, src, {
      revision: gitRevision('main', 'a'.repeat(40)),
    });
    expect(artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(artifact.path).toBe(`gitrepository/flux-system/config/${artifact.digest.slice(7)}.tar.gz`);
    expect(artifact.url).toBe(`${artifacts.url}/${artifact.path}`);
    expect(artifact.lastUpdateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const data = await downloadArtifact(artifact);
    expect(data.length).toBe(artifact.size);
    expect(sha256Digest(data)).toBe(artifact.digest);
    expect(artifacts.requests.at(-1)).toEqual({ method: 'GET', path: `/${artifact.path}`, status: 200 });

    // The same tree gives the same digest (deterministic tarballs), and its content round-trips.
    expect((await artifacts.publishDirectory(ref, src)).digest).toBe(artifact.digest);
    const out = join(scratch, 'extracted');
    await mkdir(out);
    await writeFile(join(out, 'a.tar.gz'), data);
    await tarExtract({ file: join(out, 'a.tar.gz'), cwd: out });
    const secretsFile = 'payments/deployment-configuration/profiles/dev/application.secrets.env';
    expect(await readFile(join(out, secretsFile), 'utf8')).toBe(TREE[secretsFile]);
    await expect(readFile(join(out, '.git/HEAD'))).rejects.toThrow(); // .git is never archived

    await artifacts.remove(artifact);
    expect((await fetch(artifact.url)).status).toBe(404);
  });

  it('detects a digest mismatch', async () => {
    const artifact = await artifacts.publishBytes(
      { kind: 'Bucket', namespace: 'ns', name: 'b' },
      Buffer.from('not a tarball'),
    );
    await expect(
      downloadArtifact({ ...artifact, digest: sha256Digest(Buffer.from('other')) }),
    ).rejects.toThrow(/digest/);
  });
});

describe('Flux sources and Argo CD Applications in kube-apiserver', () => {
  it.each<FluxSourceKind>(['GitRepository', 'OCIRepository', 'Bucket'])(
    'sets a %s status.artifact through the status subresource and reads it back',
    async (kind) => {
      const ns = await kube().createNamespace(`smoke-${kind.toLowerCase()}`);
      const ref = { kind, namespace: ns, name: 'platform-config' };
      const created = await createFluxSource(kube(), ref);
      const src = join(scratch, `tree-${kind}`);
      await writeTree(src, { 'a.env': `KIND=${kind}\n` });
      const revision = kind === 'GitRepository' ? gitRevision('main', 'b'.repeat(40)) : undefined;
      const artifact = await artifacts.publishDirectory(ref, src, revision ? { revision } : {});

      await setFluxArtifact(kube(), ref, artifact);
      const got = (await getFluxSource(kube(), ref)) as {
        metadata: { generation: number };
        spec: unknown;
        status: {
          artifact: unknown;
          observedGeneration: number;
          conditions: { type: string; status: string }[];
        };
      };
      expect(got.status.artifact).toEqual(artifact);
      expect(got.status.observedGeneration).toBe(got.metadata.generation);
      expect(got.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'True' }),
      );
      expect(got.spec).toEqual((created as { spec: unknown }).spec); // status writes leave spec alone
      expect(got.metadata.generation).toBe(1);
      expect((await downloadArtifact(got.status.artifact as typeof artifact)).length).toBe(artifact.size);

      // A failing source: Ready=False, artifact kept out.
      await setFluxArtifact(kube(), ref, undefined, { ready: false, message: 'auth failed' });
      const failed = (await getFluxSource(kube(), ref)) as { status: Record<string, unknown> };
      expect(failed.status.artifact).toBeUndefined();
      expect(failed.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'False', message: 'auth failed' }),
      );
    },
  );

  it('creates an Argo CD Application with a synced revision', async () => {
    const ns = await kube().createNamespace('smoke-argo');
    await createArgoApplication(
      kube(),
      ns,
      'payments',
      { repoURL: 'http://127.0.0.1:1/config.git', path: 'payments', targetRevision: 'main' },
      { syncedRevision: 'c'.repeat(40) },
    );
    const app = (await kube().client(CustomObjectsApi).getNamespacedCustomObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'applications',
      name: 'payments',
    })) as { spec: { source: { path: string } }; status: { sync: { revision: string; status: string } } };
    expect(app.spec.source.path).toBe('payments');
    expect(app.status.sync).toMatchObject({ status: 'Synced', revision: 'c'.repeat(40) });
  });
});

describe('Git smart-HTTP server', () => {
  let open: GitServer;
  let locked: GitServer;
  const auth = { username: 'flux', password: 's3cret:with/odd@chars' };
  beforeAll(async () => {
    [open, locked] = await Promise.all([startGitServer(), startGitServer({ auth })]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), locked?.stop()]);
  });

  it('clones and fetches without credentials', async () => {
    const repo = await open.createRepo('config', { 'app/a.env': 'A=1\n' });
    const first = await repo.head();
    expect(first).toMatch(/^[0-9a-f]{40}$/);
    const env = gitEnv(scratch);
    const dir = join(scratch, 'clone-open');
    await git(['clone', '--quiet', '--branch', 'main', repo.url, dir], { env });
    expect(await readFile(join(dir, 'app/a.env'), 'utf8')).toBe('A=1\n');
    expect(await git(['rev-parse', 'HEAD'], { cwd: dir, env })).toBe(first);

    const second = await repo.commit({ 'app/a.env': 'A=2\n', 'app/b.env': 'B=1\n' }, 'rotate');
    expect(second).not.toBe(first);
    expect(await git(['ls-remote', repo.url, 'refs/heads/main'], { env })).toBe(`${second}\trefs/heads/main`);
    await git(['pull', '--quiet', '--ff-only'], { cwd: dir, env });
    expect(await readFile(join(dir, 'app/a.env'), 'utf8')).toBe('A=2\n');
    expect(open.requests.some((r) => r.startsWith('POST /config.git/git-receive-pack 200'))).toBe(true);
    expect(open.requests.some((r) => r.startsWith('POST /config.git/git-upload-pack 200'))).toBe(true);
  });

  it('requires basic auth when configured: refused without or with wrong credentials, clones with them', async () => {
    const repo = await locked.createRepo('private', { 'secrets.env': 'TOKEN=1\n' });
    expect(repo.authUrl).not.toBe(repo.url);
    const env = gitEnv(scratch);
    await expect(git(['clone', '--quiet', repo.url, join(scratch, 'no-creds')], { env })).rejects.toThrow(
      /could not read Username|Authentication failed|terminal prompts disabled/,
    );
    const wrong = new URL(repo.url);
    wrong.username = 'flux';
    wrong.password = 'nope';
    await expect(
      git(['clone', '--quiet', wrong.toString(), join(scratch, 'wrong-creds')], { env }),
    ).rejects.toThrow(/Authentication failed/);
    expect(locked.requests.some((r) => r.endsWith(' 401'))).toBe(true);

    const dir = join(scratch, 'clone-auth');
    await git(['clone', '--quiet', repo.authUrl, dir], { env });
    expect(await readFile(join(dir, 'secrets.env'), 'utf8')).toBe('TOKEN=1\n');
    expect(await git(['rev-parse', 'HEAD'], { cwd: dir, env })).toBe(await repo.head());
  });
});
