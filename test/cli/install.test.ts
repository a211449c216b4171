/**
 * `msmctl install --export` renders the package's config/ base without kustomize: the same objects,
 * in the same order, as the real `kustomize build` (the kustomize peer), also when the controller
 * namespace is changed; a base using a kustomize feature msmctl does not implement is refused.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerPath, repoRoot } from '../peers.js';
import { msmctl } from './run.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are untyped YAML
type Obj = Record<string, any>;

const parse = (text: string): Obj[] =>
  parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw d.errors[0];
    return d.toJS() as Obj;
  });

const kustomizeBuild = (dir: string): Obj[] =>
  parse(execFileSync(peerPath('kustomize'), ['build', dir], { encoding: 'utf8', maxBuffer: 64 << 20 }));

describe('msmctl install --export', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-install-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('prints exactly what kustomize build config prints, with no cluster at all', () => {
    // No kubeconfig anywhere: --export must not need one.
    const r = msmctl(['install', '--export'], {
      env: { KUBECONFIG: path.join(work, 'missing'), HOME: work },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = parse(r.stdout);
    const theirs = kustomizeBuild(path.join(repoRoot, 'config'));
    expect(ours.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      theirs.map((o) => `${o.kind}/${o.metadata.name}`),
    );
    expect(ours).toEqual(theirs);
    expect(ours.length).toBe(10);
  });

  it('--image sets the controller image, as kustomize edit set image would, and changes nothing else', () => {
    const image = 'registry.example.com/platform/secret-manager-controller@sha256:' + 'ab'.repeat(32);
    const r = msmctl(['install', '--export', '--image', image]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = parse(r.stdout);
    const theirs = kustomizeBuild(path.join(repoRoot, 'config'));
    const deployment = theirs.find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.template.spec.containers[0].image).not.toBe(image);
    deployment.spec.template.spec.containers[0].image = image;
    expect(ours).toEqual(theirs);
    for (const bad of ['', 'has space', 'UPPER/case:1']) {
      const refused = msmctl(['install', '--export', '--image', bad]);
      expect(refused.status, bad).toBe(2);
      expect(refused.stderr, bad).toMatch(
        /^msmctl: --image: .* is not an image reference \(REPOSITORY\[:TAG\]\[@sha256:DIGEST\]\)\n$/,
      );
      expect(refused.stdout).toBe('');
    }
  });

  it('moves everything into the namespace given with -n, exactly as kustomize does', () => {
    const copy = path.join(work, 'config');
    cpSync(path.join(repoRoot, 'config'), copy, { recursive: true });
    const k = path.join(copy, 'kustomization.yaml');
    const text = readFileSync(k, 'utf8');
    expect(text).toMatch(/^namespace: secret-manager-controller-system$/m);
    writeFileSync(k, text.replace(/^namespace: .*$/m, 'namespace: smc-elsewhere'));

    const r = msmctl(['install', '--export', '-n', 'smc-elsewhere']);
    expect(r.status, r.stderr).toBe(0);
    const ours = parse(r.stdout);
    expect(ours).toEqual(kustomizeBuild(copy));
    // What that means: the Namespace object is renamed and the bindings follow the ServiceAccount.
    expect(ours.find((o) => o.kind === 'Namespace')?.metadata.name).toBe('smc-elsewhere');
    for (const kind of ['RoleBinding', 'ClusterRoleBinding']) {
      expect(ours.find((o) => o.kind === kind)?.subjects[0].namespace).toBe('smc-elsewhere');
    }
  });

  it('refuses a base that uses a kustomize feature it does not implement, naming file and field', () => {
    const base = path.join(work, 'unsupported');
    cpSync(path.join(repoRoot, 'config'), base, { recursive: true });
    const k = path.join(base, 'kustomization.yaml');
    writeFileSync(k, `${readFileSync(k, 'utf8')}namePrefix: team-\n`);
    const r = msmctl(['install', '--export', '--from', base]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${k}: field "namePrefix" is not supported by msmctl install`);

    const labels = path.join(work, 'labels');
    cpSync(path.join(repoRoot, 'config'), labels, { recursive: true });
    const lk = path.join(labels, 'kustomization.yaml');
    writeFileSync(
      lk,
      readFileSync(lk, 'utf8').replace('includeSelectors: true', 'includeSelectors: true\n    fields: []'),
    );
    const rl = msmctl(['install', '--export', '--from', labels]);
    expect(rl.status).toBe(2);
    expect(rl.stderr).toContain(`${lk}: labels[0]: field "fields" is not supported by msmctl install`);
  });

  it('refuses --export together with --dry-run', () => {
    const r = msmctl(['install', '--export', '--dry-run']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--export and --dry-run exclude each other');
  });
});
