/**
 * Pure parts of the source handling in the controller: which Git source of an Application is read,
 * credentials from a Secret's keys, Argo URL matching, what an Application change is, the pull
 * schedule, the Flux API version choice (v1, else v1beta2) and the suspendGitPulls decision.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  applicationFingerprint,
  credentialsFromSecret,
  normalizeRepoURL,
  selectArgoGitSource,
} from '../../src/controller/sources/argo-source.js';
import { chooseFluxVersion, fluxSourceTypes } from '../../src/controller/sources/flux-versions.js';
import {
  SUSPENDED_BY_ANNOTATION,
  type SuspendableSource,
  suspendAction,
} from '../../src/controller/sources/flux-suspend.js';
import { effectivePullIntervalMs, nextPullInMs, pullDue } from '../../src/controller/sources/git-pulls.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>): V1Secret => ({
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

describe('selectArgoGitSource', () => {
  it('spec.source; defaults targetRevision HEAD', () => {
    expect(
      selectArgoGitSource({ spec: { source: { repoURL: 'https://git.example/a.git', path: 'x' } } }),
    ).toEqual({
      repoURL: 'https://git.example/a.git',
      targetRevision: 'HEAD',
      path: 'x',
    });
  });

  it('spec.sources[]: skips charts and ref-only values sources, takes the first Git source with a path', () => {
    const app = {
      spec: {
        source: { repoURL: 'https://ignored.example/x.git', path: 'ignored' },
        sources: [
          { repoURL: 'https://charts.example', chart: 'app', targetRevision: '1.2.3' },
          { repoURL: 'https://git.example/values.git', targetRevision: 'main', ref: 'values' },
          { repoURL: 'https://git.example/config.git', targetRevision: 'v2', path: 'secrets' },
          { repoURL: 'https://git.example/other.git', path: 'other' },
        ],
      },
    };
    expect(selectArgoGitSource(app)).toEqual({
      repoURL: 'https://git.example/config.git',
      targetRevision: 'v2',
      path: 'secrets',
    });
    // Only ref-only Git sources: the first one (repository root).
    expect(
      selectArgoGitSource({ spec: { sources: [{ repoURL: 'https://git.example/values.git', ref: 'v' }] } }),
    ).toMatchObject({ repoURL: 'https://git.example/values.git', path: '' });
  });

  it('no Git source at all: undefined', () => {
    expect(selectArgoGitSource({ spec: { source: { repoURL: 'https://c', chart: 'x' } } })).toBeUndefined();
    expect(selectArgoGitSource({})).toBeUndefined();
  });
});

describe('applicationFingerprint', () => {
  const app = (targetRevision: string, revision?: string) => ({
    metadata: { name: 'a', namespace: 'argocd' },
    spec: { source: { repoURL: 'https://g/r.git', path: 'p', targetRevision } },
    ...(revision ? { status: { sync: { revision } } } : {}),
  });
  it('changes with the source and the synced revision, not with anything else', () => {
    expect(applicationFingerprint(app('main'))).toBe(
      applicationFingerprint({ ...app('main'), metadata: {} }),
    );
    expect(applicationFingerprint(app('main'))).not.toBe(applicationFingerprint(app('v2')));
    expect(applicationFingerprint(app('main', 'a'.repeat(40)))).not.toBe(
      applicationFingerprint(app('main', 'b'.repeat(40))),
    );
  });
});

describe('credentialsFromSecret', () => {
  it('username + password; token / bearerToken; sshPrivateKey with known_hosts or insecure', () => {
    expect(credentialsFromSecret(secret({ username: 'u', password: 'p' }))).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(credentialsFromSecret(secret({ token: 't' }))).toEqual({ token: 't' });
    expect(credentialsFromSecret(secret({ bearerToken: 't', username: 'bot' }))).toEqual({
      token: 't',
      username: 'bot',
    });
    expect(
      credentialsFromSecret(secret({ sshPrivateKey: 'KEY', known_hosts: 'host ssh-ed25519 AAA' })),
    ).toEqual({
      sshPrivateKey: 'KEY',
      knownHosts: 'host ssh-ed25519 AAA',
    });
    expect(credentialsFromSecret(secret({ sshPrivateKey: 'KEY', insecure: 'true' }))).toEqual({
      sshPrivateKey: 'KEY',
      insecureIgnoreHostKey: true,
    });
  });

  it('none of the keys (e.g. an Argo repository Secret with only a url): undefined', () => {
    expect(credentialsFromSecret(secret({ url: 'https://g/r.git', type: 'git' }))).toBeUndefined();
    expect(credentialsFromSecret({})).toBeUndefined();
  });
});

describe('normalizeRepoURL', () => {
  it("matches as Argo CD does: case, trailing '/' and '.git' ignored", () => {
    expect(normalizeRepoURL('https://Git.Example/Org/Repo.git/')).toBe(
      normalizeRepoURL('https://git.example/org/repo'),
    );
    expect(normalizeRepoURL('https://git.example/org/repo')).not.toBe(
      normalizeRepoURL('https://git.example/org/repo2'),
    );
  });
});

describe('pull schedule', () => {
  const last = { sourceKey: 'k', revision: 'r', at: 1_000 };
  const base = { last, sourceKey: 'k', now: 1_000, intervalMs: 60_000, suspended: false, forced: false };
  it('due when never pulled, the source changed, forced, or the interval passed', () => {
    expect(pullDue({ ...base, last: undefined })).toBe(true);
    expect(pullDue({ ...base, sourceKey: 'other' })).toBe(true);
    expect(pullDue({ ...base, forced: true })).toBe(true);
    expect(pullDue({ ...base, now: 60_999 })).toBe(false);
    expect(pullDue({ ...base, now: 61_000 })).toBe(true);
  });
  it('suspendGitPulls: no periodic pull, an explicit trigger still pulls', () => {
    expect(pullDue({ ...base, now: 10_000_000, suspended: true })).toBe(false);
    expect(pullDue({ ...base, now: 10_000_000, suspended: true, forced: true })).toBe(true);
    expect(nextPullInMs(last, 2_000, 60_000, true)).toBeUndefined();
  });
  it('next pull and the settings floor', () => {
    expect(nextPullInMs(last, 31_000, 60_000, false)).toBe(30_000);
    expect(nextPullInMs(last, 90_000, 60_000, false)).toBe(1_000);
    expect(effectivePullIntervalMs(60_000, 300_000)).toBe(300_000);
    expect(effectivePullIntervalMs(600_000, 60_000)).toBe(600_000);
  });
});

describe('Flux source API version', () => {
  it('v1 when served, else v1beta2, else v1 (watched as optional)', () => {
    const served = new Map([
      ['v1', new Set(['gitrepositories'])],
      ['v1beta2', new Set(['gitrepositories', 'ocirepositories', 'buckets'])],
    ]);
    expect(chooseFluxVersion(served, 'gitrepositories')).toBe('v1');
    expect(chooseFluxVersion(served, 'buckets')).toBe('v1beta2');
    expect(chooseFluxVersion(new Map(), 'buckets')).toBe('v1');
    expect(fluxSourceTypes(served).map((t) => `${t.kind}@${t.version}`)).toEqual([
      'GitRepository@v1',
      'OCIRepository@v1beta2',
      'Bucket@v1beta2',
    ]);
  });
});

describe('suspendGitPulls decision', () => {
  const owner = 'team-a/payments';
  const src = (suspend: boolean | undefined, by?: string): SuspendableSource => ({
    metadata: { annotations: by ? { [SUSPENDED_BY_ANNOTATION]: by } : {} },
    spec: suspend === undefined ? {} : { suspend },
  });
  it('suspends a running source and resumes only what this SMC suspended', () => {
    expect(suspendAction(src(undefined), true, owner)).toBe('suspend');
    expect(suspendAction(src(true, owner), true, owner)).toBe('none');
    expect(suspendAction(src(true, owner), false, owner)).toBe('resume');
    expect(suspendAction(src(false), false, owner)).toBe('none');
  });
  it("never undoes someone else's suspend", () => {
    expect(suspendAction(src(true), true, owner)).toBe('suspendedByOther');
    expect(suspendAction(src(true), false, owner)).toBe('leftSuspended');
    expect(suspendAction(src(true, 'team-a/other'), false, owner)).toBe('leftSuspended');
  });
});
