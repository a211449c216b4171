/**
 * Kustomize remote resources (issue 10, item 8): a kustomization naming a URL is refused before the
 * real kustomize runs, so a local HTTP server on 127.0.0.1 standing in for any address a Git author
 * could choose receives zero requests. With remote loading allowed, the same server is reached
 * (which shows the request counting works).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { renderKustomize, type DecryptFile } from '../../src/render/index.js';
import { isRemoteReference } from '../../src/render/kustomize-remote.js';
import { peerPath } from '../peers.js';
import { makeTree, removeTree } from './helpers.js';

const noDecrypt: DecryptFile = () => {
  throw new Error('no SOPS files here');
};
const CANARY = 'ssrf-canary-7f3a91';
const remoteConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: remote
data:
  FROM_REMOTE: ${CANARY}
`;

let server: Server;
let base: string;
const requests: string[] = [];
let kustomize: string;
const roots: string[] = [];

beforeAll(async () => {
  kustomize = peerPath('kustomize');
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/yaml' }).end(remoteConfigMap);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  for (const r of roots.splice(0)) removeTree(r);
  requests.length = 0;
});

function tree(files: Record<string, string>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}

const localSecret = `apiVersion: v1
kind: Secret
metadata:
  name: local
stringData:
  LOCAL: here
`;

async function refusal(root: string, kustomizePath: string): Promise<string> {
  const e = await renderKustomize({ root, kustomizePath, decrypt: noDecrypt, kustomizeBin: kustomize }).catch(
    (err: unknown) => err,
  );
  expect(isSmcError(e, 'KustomizeFailed'), String(e)).toBe(true);
  return (e as Error).message;
}

describe('kustomize remote resources are refused by default', () => {
  it.each([
    ['resources', (u: string) => `resources:\n  - secret.yaml\n  - ${u}/cm.yaml\n`, 'resources'],
    ['bases', (u: string) => `bases:\n  - ${u}/base.yaml\n`, 'bases'],
    [
      'components',
      (u: string) => `resources:\n  - secret.yaml\ncomponents:\n  - ${u}/component\n`,
      'components',
    ],
    [
      'patches path',
      (u: string) => `resources:\n  - secret.yaml\npatches:\n  - path: ${u}/patch.yaml\n`,
      'patches[0].path',
    ],
    [
      'configMapGenerator files',
      (u: string) => `configMapGenerator:\n  - name: gen\n    files:\n      - key=${u}/file.txt\n`,
      'configMapGenerator[0].files',
    ],
    [
      'secretGenerator envs',
      (u: string) => `secretGenerator:\n  - name: gen\n    envs:\n      - ${u}/app.env\n`,
      'secretGenerator[0].envs',
    ],
    ['git:: repository', (u: string) => `resources:\n  - git::${u}/repo.git//deploy?ref=main\n`, 'resources'],
  ])('in %s: refused naming the URL and the file; zero requests', async (_name, body, field) => {
    const root = tree({ 'app/kustomization.yaml': body(base), 'app/secret.yaml': localSecret });
    const message = await refusal(root, 'app');
    expect(message).toMatch(
      new RegExp(
        `^app/kustomization\\.yaml: ${field.replace(/[[\].]/g, '\\$&')} names the remote reference "(git::)?${base}/`,
      ),
    );
    expect(message).toContain('allow_kustomize_remote');
    expect(requests).toEqual([]);
  });

  it('never shows credentials written into the URL (userinfo, query values kustomize does not read)', async () => {
    const url = `git::https://bot:userinfo-canary@127.0.0.1:1/org/repo.git//deploy?ref=main&token=query-canary`;
    const root = tree({ 'app/kustomization.yaml': `resources:\n  - ${url}\n` });
    const message = await refusal(root, 'app');
    expect(message).toContain('"git::https://***@127.0.0.1:1/org/repo.git//deploy?ref=main&token=***"');
    expect(message).not.toContain('canary');
    expect(requests).toEqual([]);
  });

  it('in a base of the overlay (followed through local directories); zero requests', async () => {
    const root = tree({
      'overlay/kustomization.yaml': 'resources:\n  - ../base\n',
      'base/kustomization.yaml': `resources:\n  - secret.yaml\n  - ${base}/cm.yaml\n`,
      'base/secret.yaml': localSecret,
    });
    const message = await refusal(root, 'overlay');
    expect(message).toContain(
      `base/kustomization.yaml: resources names the remote reference "${base}/cm.yaml"`,
    );
    expect(requests).toEqual([]);
  });

  it('in a generator configuration file; zero requests', async () => {
    const root = tree({
      'app/kustomization.yaml': 'generators:\n  - gen.yaml\n',
      'app/gen.yaml': `apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\nfiles:\n  - ${base}/x.txt\n`,
    });
    const message = await refusal(root, 'app');
    expect(message).toContain(
      `app/gen.yaml: ConfigMapGenerator.files names the remote reference "${base}/x.txt"`,
    );
    expect(requests).toEqual([]);
  });

  it('a Helm chart repository is refused too', async () => {
    const root = tree({
      'app/kustomization.yaml': `helmCharts:\n  - name: x\n    repo: ${base}/charts\n    version: 1.0.0\n`,
    });
    expect(await refusal(root, 'app')).toContain('helmCharts[0].repo');
    expect(requests).toEqual([]);
  });

  it('a host-like name is remote even where a local directory has that name (kustomize tries Git first)', async () => {
    const root = tree({
      'app/kustomization.yaml': 'resources:\n  - secret.yaml\n  - github.com/org/repo\n',
      'app/secret.yaml': localSecret,
      'app/github.com/org/repo/kustomization.yaml': 'resources: []\n',
    });
    expect(await refusal(root, 'app')).toContain(
      'resources names the remote reference "github.com/org/repo"',
    );
  });

  it('local files and directories are followed and built', async () => {
    const root = tree({
      'overlay/kustomization.yaml': 'resources:\n  - ../base\n  - secret.yaml\n',
      'overlay/secret.yaml': localSecret,
      'base/kustomization.yaml': 'resources:\n  - cm.yaml\n',
      'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  C: c\n',
    });
    const entries = await renderKustomize({
      root,
      kustomizePath: 'overlay',
      decrypt: noDecrypt,
      kustomizeBin: kustomize,
    });
    expect(entries.map((e) => e.key).sort()).toEqual(['C', 'LOCAL']);
  });

  it('recognises every remote form kustomize accepts', () => {
    for (const url of [
      'https://example.com/cm.yaml',
      'http://169.254.169.254/latest/meta-data',
      'git::https://example.com/org/repo.git',
      'ssh://git@example.com/org/repo.git',
      'git@github.com:org/repo.git',
      'gh:org/repo',
      'file:///etc/passwd',
      'github.com/org/repo//deploy?ref=v1',
      'gitlab.com/org/repo',
      'example.com:8080/org/repo',
    ]) {
      expect(isRemoteReference(url), url).toBe(true);
    }
    for (const local of ['secret.yaml', '../base', './overlays/dev', 'deploy/app.yaml']) {
      expect(isRemoteReference(local), local).toBe(false);
    }
  });

  it('with allowRemote, kustomize fetches it (the server counts the request and its data is read)', async () => {
    const root = tree({
      'app/kustomization.yaml': `resources:\n  - secret.yaml\n  - ${base}/cm.yaml\n`,
      'app/secret.yaml': localSecret,
    });
    const entries = await renderKustomize({
      root,
      kustomizePath: 'app',
      decrypt: noDecrypt,
      kustomizeBin: kustomize,
      allowRemote: true,
    });
    expect(requests).toContain('/cm.yaml');
    expect(entries.find((e) => e.key === 'FROM_REMOTE')?.value).toBe(CANARY);
  });
});
