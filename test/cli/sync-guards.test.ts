/**
 * `msmctl sync` refuses what would silently lose data or push plaintext (docs/security.md):
 * - an environment whose profile directory exists nowhere (a typo such as `--env dve`) is an error,
 *   not an empty source that prunes the store;
 * - a pass that would prune every entry the target owns is refused unless `--allow-prune-all`;
 * - an unencrypted `application.secrets.*` file is refused unless `--allow-plaintext`.
 * Exit code 2 (docs/cli.md), nothing written, and the store as it was. Each msmctl run is a separate
 * process, hence the longer timeouts of the tests that run many.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');
const DEV_FILES = [
  'payments/deployment-configuration/profiles/dev/application.secrets.env',
  'payments/deployment-configuration/profiles/dev/application.properties',
  'catalog/deployment-configuration/profiles/dev/application.secrets.yaml',
  'catalog/deployment-configuration/profiles/dev/application.properties',
];

/** The names the local store exposes (its top-level links), without the kubelet-style internals. */
function storeNames(out: string): string[] {
  return readdirSync(out)
    .filter((n) => !n.startsWith('.'))
    .sort();
}

describe('msmctl sync: a typo never empties the store', () => {
  let work: string;
  let repo: string;
  let out: string;
  const sync = (...extra: string[]) =>
    msmctl(['sync', repo, '--store', `local:${out}`, '--age-key-file', demoKey, ...extra]);

  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-guards-'));
    repo = path.join(work, 'gitops');
    out = path.join(work, 'out');
    cpSync(path.join(repoRoot, 'examples/gitops'), repo, { recursive: true });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('an environment with no profile directory is an error naming it and the environments there are', () => {
    expect(sync('--env', 'dev').status).toBe(0);
    const before = storeNames(out);
    expect(before).toContain('payments-DATABASE_URL');

    const typo = sync('--env', 'dve', '--deletion-policy', 'Delete');
    expect(typo.status, typo.stdout).toBe(2);
    expect(typo.stderr).toContain('EnvironmentNotFound');
    expect(typo.stderr).toContain('profiles/dve');
    expect(typo.stderr).toContain('payments/deployment-configuration');
    expect(typo.stderr).toMatch(/environments found: dev, prod/);
    expect(typo.stdout).not.toContain('prune');
    expect(storeNames(out)).toEqual(before);
    expect(readFileSync(path.join(out, 'payments-STRIPE_API_KEY'), 'utf8')).toBe('sk_test_demo_51Hx');
  });

  it('refuses a pass that would prune every entry it owns, unless --allow-prune-all', () => {
    expect(sync('--env', 'dev').status).toBe(0);
    const before = storeNames(out);
    for (const f of DEV_FILES) rmSync(path.join(repo, f)); // the profile directories stay, empty

    for (const args of [['Delete'], ['Disable', '--dry-run']]) {
      const r = sync('--env', 'dev', '--deletion-policy', ...args);
      expect(r.status, `${args.join(' ')}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toContain('PruneAllRefused');
      expect(r.stderr).toContain('--allow-prune-all');
      expect(storeNames(out)).toEqual(before);
    }
    // Retain removes nothing: no refusal.
    expect(sync('--env', 'dev').status).toBe(0);
    expect(storeNames(out)).toEqual(before);

    const allowed = sync('--env', 'dev', '--deletion-policy', 'Delete', '--allow-prune-all', '-o', 'json');
    expect(allowed.status, allowed.stderr).toBe(0);
    const actions = (JSON.parse(allowed.stdout) as { entries: { action: string }[] }).entries.map(
      (e) => e.action,
    );
    expect(new Set(actions)).toEqual(new Set(['prune']));
    expect(storeNames(out)).toEqual([]);
  }, 180_000);

  it('a first sync of an empty environment, and an empty one again, are not a prune-all', () => {
    for (const f of DEV_FILES) rmSync(path.join(repo, f));
    const first = sync('--env', 'dev', '--deletion-policy', 'Delete');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('nothing to sync');
    expect(sync('--env', 'dev', '--deletion-policy', 'Delete').status).toBe(0);
  });

  it('removing some of the entries is no prune-all', () => {
    expect(sync('--env', 'dev').status).toBe(0);
    rmSync(path.join(repo, DEV_FILES[2]!)); // catalog's secrets: the rest stays
    const some = sync('--env', 'dev', '--deletion-policy', 'Delete', '-o', 'json');
    expect(some.status, some.stderr).toBe(0);
    expect(storeNames(out)).not.toContain('catalog-search.api-key');
    expect(storeNames(out)).toContain('payments-DATABASE_URL');
  });
});

describe('msmctl sync: plaintext where ciphertext is expected', () => {
  const CANARY = 'plaintext-canary-5d1e';
  let work: string;
  let repo: string;
  let out: string;
  const profile = 'svc/deployment-configuration/profiles/dev';

  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-plain-'));
    repo = path.join(work, 'repo');
    out = path.join(work, 'out');
    mkdirSync(path.join(repo, profile), { recursive: true });
    writeFileSync(path.join(repo, profile, 'application.properties'), 'svc.port=8080\n');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  for (const [file, content] of [
    ['application.secrets.env', `TOKEN=${CANARY}\n`],
    ['application.secrets.yaml', `token: ${CANARY}\n`],
  ] as const) {
    it(`refuses an unencrypted ${file} naming it, unless --allow-plaintext`, () => {
      writeFileSync(path.join(repo, profile, file), content);
      for (const cmd of [
        ['sync', repo, '--env', 'dev', '--store', `local:${out}`],
        ['diff', repo, '--env', 'dev', '--store', `local:${out}`],
        ['render', repo, '--env', 'dev'],
      ]) {
        const r = msmctl(cmd);
        expect(r.status, `${cmd[0]}: ${r.stdout}`).toBe(2);
        expect(r.stderr).toContain('SecretsNotEncrypted');
        expect(r.stderr).toContain(`${profile}/${file}`);
        expect(r.stderr).toContain('--allow-plaintext');
        expect(r.stderr + r.stdout).not.toContain(CANARY);
      }
      expect(() => readdirSync(out)).toThrow(); // nothing written, not even the directory

      const allowed = msmctl(['sync', repo, '--env', 'dev', '--store', `local:${out}`, '--allow-plaintext']);
      expect(allowed.status, allowed.stderr).toBe(0);
      const name = file.endsWith('.env') ? 'svc-TOKEN' : 'svc-token';
      expect(readFileSync(path.join(out, name), 'utf8')).toBe(CANARY);
      const rendered = msmctl(['render', repo, '--env', 'dev', '--allow-plaintext']);
      expect(rendered.status, rendered.stderr).toBe(0);
    }, 180_000);
  }

  it('a plain application.properties is configuration, not a secret: synced as it is', () => {
    const r = msmctl(['sync', repo, '--env', 'dev', '--store', `local:${out}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'svc-properties'), 'utf8'))).toEqual({
      'svc.port': '8080',
    });
  });
});
