/**
 * `msmctl diff` on the example repository against the local store: the pipeline's own plan, shown
 * per entry without applying it, values never printed, exit code like diff(1).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');

interface DiffEntry {
  key: string | null;
  name: string;
  kind: string;
  change: string;
  reason: string | null;
}

// Canary values: none of them may ever appear in diff's output.
const CANARY_TOKEN = 'canary-diff-token-5b1e9c';
const CANARY_OTHER = 'canary-diff-other-77d0aa';
const CANARY_CURRENCY = 'CANARY-CURRENCY-31f4';
const EXAMPLE_SECRET = 'sk_test_demo_51Hx'; // payments STRIPE_API_KEY, decrypted from the example

describe('msmctl diff (local store)', () => {
  let work: string;
  let repo: string;
  let out: string;
  const billing = () =>
    path.join(repo, 'billing/deployment-configuration/profiles/dev/application.secrets.env');

  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-diff-'));
    repo = path.join(work, 'gitops');
    out = path.join(work, 'store');
    cpSync(path.join(repoRoot, 'examples/gitops'), repo, { recursive: true });
    mkdirSync(path.dirname(billing()), { recursive: true });
    writeFileSync(billing(), `TOKEN=${CANARY_TOKEN}\nOTHER=${CANARY_OTHER}\n`);
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const common = (...extra: string[]) => [
    repo,
    '--env',
    'dev',
    '--store',
    `local:${out}`,
    '--age-key-file',
    demoKey,
    '--allow-plaintext', // billing's secrets file is a plain fixture
    ...extra,
  ];
  const diff = (...extra: string[]) => {
    const r = msmctl(['diff', ...common('-o', 'json', ...extra)]);
    expect(r.stderr).toBe('');
    for (const canary of [CANARY_TOKEN, CANARY_OTHER, CANARY_CURRENCY, EXAMPLE_SECRET]) {
      expect(r.stdout).not.toContain(canary);
    }
    const parsed = JSON.parse(r.stdout) as { entries: DiffEntry[]; differences: number };
    return { ...r, ...parsed, byName: new Map(parsed.entries.map((e) => [e.name, e])) };
  };
  const sync = (...extra: string[]) => {
    const r = msmctl(['sync', ...common('-o', 'json', ...extra)]);
    expect(r.status, r.stderr).toBe(0);
  };

  it('shows every entry as create against an empty store, exits 1, and writes nothing', () => {
    const r = diff();
    expect(r.status).toBe(1);
    expect(r.entries.length).toBe(12);
    expect(new Set(r.entries.map((e) => e.change))).toEqual(new Set(['create']));
    expect(r.differences).toBe(12);
    expect(r.byName.get('payments-STRIPE_API_KEY')?.reason).toBe('missing from store');
    // diff is a plan only: the store directory was never created.
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);

    // The table form says the same, values masked.
    const table = msmctl(['diff', ...common()]);
    expect(table.status).toBe(1);
    expect(table.stdout).toMatch(/^KEY\s+NAME\s+KIND\s+CHANGE\s+REASON$/m);
    expect(table.stdout).toMatch(
      /^STRIPE_API_KEY\s+payments-STRIPE_API_KEY\s+secret\s+create\s+missing from store$/m,
    );
    expect(table.stdout).toContain('12 create; 12 difference(s)');
    expect(table.stdout).not.toContain(EXAMPLE_SECRET);
    expect(table.stdout).not.toContain(CANARY_TOKEN);
  });

  it('exits 0 with only noops right after a sync, then shows exactly what changed in Git', () => {
    sync();
    const same = diff();
    expect(same.status).toBe(0);
    expect(same.differences).toBe(0);
    expect(new Set(same.entries.map((e) => e.change))).toEqual(new Set(['noop']));

    // Edit a plain config value, comment out one secret, drop another.
    const props = path.join(repo, 'payments/deployment-configuration/profiles/dev/application.properties');
    writeFileSync(
      props,
      `payments.currency=${CANARY_CURRENCY}\npayments.retry.max-attempts: 5\npayments.feature.instant-refunds=true\n`,
    );
    writeFileSync(billing(), `#TOKEN=${CANARY_TOKEN}\n`);

    const retained = diff();
    expect(retained.status).toBe(1);
    expect(retained.byName.get('payments-properties')).toMatchObject({
      change: 'update',
      reason: 'value changed',
    });
    expect(retained.byName.get('billing-TOKEN')?.change).toBe('disable');
    // deletionPolicy Retain (the default): a key that left Git is kept, so no difference.
    expect(retained.byName.get('billing-OTHER')?.change).toBe('noop');
    expect(retained.byName.get('billing-OTHER')?.reason).toContain('retained');
    expect(retained.differences).toBe(2);

    const deleting = diff('--deletion-policy', 'Delete');
    expect(deleting.byName.get('billing-OTHER')?.change).toBe('delete');
    expect(deleting.differences).toBe(3);
    const disabling = diff('--deletion-policy', 'Disable');
    expect(disabling.byName.get('billing-OTHER')?.change).toBe('disable');

    // Still nothing applied: a sync afterwards performs exactly those changes.
    const after = msmctl(['sync', ...common('-o', 'json')]);
    const actions = (JSON.parse(after.stdout) as { entries: { name: string; action: string }[] }).entries;
    expect(
      actions
        .filter((a) => a.action !== 'noop')
        .map((a) => `${a.name}:${a.action}`)
        .sort(),
    ).toEqual(['billing-TOKEN:disable', 'payments-properties:update']);
    expect(diff().status).toBe(0);
  });

  it('reports entries owned by another SecretManagerConfig as conflicts', () => {
    sync('--smc', 'team-a/payments');
    const r = diff('--smc', 'team-b/payments');
    expect(r.status).toBe(1);
    expect(new Set(r.entries.map((e) => e.change))).toEqual(new Set(['conflict']));
    expect(r.byName.get('payments-STRIPE_API_KEY')?.reason).toContain('owned by team-a/payments');
  });

  it('exits 2 with a clear message on bad input', () => {
    const noKey = msmctl(['diff', repo, '--env', 'dev', '--store', `local:${out}`, '--allow-plaintext'], {
      env: { SOPS_AGE_KEY_FILE: '', SOPS_AGE_KEY: '' },
    });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(
      /application\.secrets\.(env|yaml): no configured key can decrypt this file \(no decryption key is configured: no age or PGP key\)/,
    );
    const badPolicy = msmctl(['diff', ...common('--deletion-policy', 'Sometimes')]);
    expect(badPolicy.status).toBe(2);
    expect(badPolicy.stderr).toContain(
      '--deletion-policy must be Retain, Disable or Delete (got "Sometimes")',
    );
  });
});
