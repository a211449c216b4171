import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peerPath, repoRoot } from '../peers.js';
import { msmctl } from './run.js';

const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');
const payments = 'payments/deployment-configuration/profiles/dev/application.secrets.env';

interface JsonEntry {
  key: string | null;
  name: string;
  kind: string;
  action: string;
  result: string;
  message: string | null;
}

function sopsEnv(keyFile: string): NodeJS.ProcessEnv {
  return { ...process.env, SOPS_AGE_KEY_FILE: keyFile, SOPS_DISABLE_VERSION_CHECK: '1' };
}

/** Rewrite a SOPS file's plaintext with the real sops binary (decrypt, edit, re-encrypt in place). */
function editEncrypted(file: string, edit: (plain: string) => string, keyFile = demoKey): void {
  const sops = peerPath('sops');
  const plain = execFileSync(sops, ['decrypt', file], { env: sopsEnv(keyFile), encoding: 'utf8' });
  const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))?.[1];
  if (!recipient) throw new Error(`no public key comment in ${keyFile}`);
  writeFileSync(file, edit(plain));
  execFileSync(
    sops,
    ['encrypt', '--age', recipient, '--input-type', 'dotenv', '--output-type', 'dotenv', '-i', file],
    {
      env: sopsEnv(keyFile),
      cwd: os.tmpdir(), // no .sops.yaml in the way
    },
  );
}

describe('msmctl sync on the example repository (local store)', () => {
  let work: string;
  let repo: string;
  let out: string;

  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-sync-'));
    repo = path.join(work, 'gitops');
    out = path.join(work, 'out');
    cpSync(path.join(repoRoot, 'examples/gitops'), repo, { recursive: true });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const syncJson = (...extra: string[]) => {
    const r = msmctl([
      'sync',
      repo,
      '--env',
      'dev',
      '--store',
      `local:${out}`,
      '--age-key-file',
      demoKey,
      '-o',
      'json',
      ...extra,
    ]);
    return {
      ...r,
      entries:
        r.status === 0 || r.status === 1 ? (JSON.parse(r.stdout) as { entries: JsonEntry[] }).entries : [],
    };
  };

  it('creates every entry, then makes no change on a second run, then updates exactly the edited entry', () => {
    const first = syncJson();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const names = first.entries.map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'payments-DATABASE_URL',
        'payments-STRIPE_API_KEY',
        'payments-WEBHOOK_SIGNING_SECRET',
        'payments-LEGACY_API_TOKEN',
        'payments-properties',
        'catalog-search.api-key',
        'catalog-redis.password',
        'catalog-properties',
      ]),
    );
    expect(first.entries.every((e) => e.action === 'create' && e.result === 'ok')).toBe(true);

    // Files as a pod would see them, through the ..data symlink.
    expect(readlinkSync(path.join(out, '..data'))).toMatch(/^\.\.\d{4}_\d\d_\d\d_/);
    expect(readFileSync(path.join(out, 'payments-DATABASE_URL'), 'utf8')).toBe(
      'postgres://payments:dev-password@db.dev.internal:5432/payments',
    );
    expect(readFileSync(path.join(out, 'payments-STRIPE_API_KEY'), 'utf8')).toBe('sk_test_demo_51Hx');
    expect(JSON.parse(readFileSync(path.join(out, 'payments-properties'), 'utf8'))).toEqual({
      'payments.currency': 'EUR',
      'payments.feature.instant-refunds': 'true',
      'payments.retry.max-attempts': '5',
    });
    // A commented-out key is disabled: kept by the store, not exposed to the application.
    expect(() => readFileSync(path.join(out, 'payments-LEGACY_API_TOKEN'))).toThrow();

    const second = syncJson();
    expect(second.status).toBe(0);
    expect(second.entries.map((e) => e.action)).toEqual(first.entries.map(() => 'noop'));
    const dataBefore = readlinkSync(path.join(out, '..data'));

    editEncrypted(path.join(repo, payments), (plain) =>
      plain.replace('sk_test_demo_51Hx', 'sk_test_demo_rotated'),
    );
    const third = syncJson();
    expect(third.status).toBe(0);
    const changed = third.entries.filter((e) => e.action !== 'noop');
    expect(changed).toEqual([
      expect.objectContaining({ name: 'payments-STRIPE_API_KEY', action: 'update', result: 'ok' }),
    ]);
    expect(readFileSync(path.join(out, 'payments-STRIPE_API_KEY'), 'utf8')).toBe('sk_test_demo_rotated');
    expect(readlinkSync(path.join(out, '..data'))).not.toBe(dataBefore);
  });

  it('prints a table with values masked, and --dry-run writes nothing', () => {
    const r = msmctl([
      'sync',
      repo,
      '--env',
      'dev',
      '--store',
      `local:${out}`,
      '--age-key-file',
      demoKey,
      '--dry-run',
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^KEY\s+NAME\s+KIND\s+ACTION\s+RESULT\s+MESSAGE/);
    expect(r.stdout).toMatch(/payments-DATABASE_URL\s+secret\s+create\s+planned/);
    expect(r.stdout).not.toContain('dev-password');
    expect(() => readlinkSync(path.join(out, '..data'))).toThrow();
  });

  it('re-enabling a commented-out key restores it', () => {
    expect(syncJson().status).toBe(0);
    editEncrypted(path.join(repo, payments), (plain) =>
      plain.replace('#LEGACY_API_TOKEN=', 'LEGACY_API_TOKEN='),
    );
    const r = syncJson();
    expect(r.entries.filter((e) => e.action !== 'noop')).toEqual([
      expect.objectContaining({ name: 'payments-LEGACY_API_TOKEN', action: 'enable', result: 'ok' }),
    ]);
    expect(readFileSync(path.join(out, 'payments-LEGACY_API_TOKEN'), 'utf8')).toBe('demo-legacy-token');
  });

  it('syncs a kustomize overlay whose secretGenerator reads SOPS files', () => {
    const r = syncJson('--kustomize-path', 'overlays/dev', '--prefix', 'orders');
    expect(r.status).toBe(0);
    expect(r.entries.map((e) => [e.name, e.kind, e.action])).toEqual(
      expect.arrayContaining([
        ['orders-ORDERS_DB_PASSWORD', 'secret', 'create'],
        ['orders-ORDERS_QUEUE_TOKEN', 'secret', 'create'],
        ['orders-ORDERS_DEV_FEATURE_TOKEN', 'secret', 'create'],
      ]),
    );
    expect(readFileSync(path.join(out, 'orders-ORDERS_DB_PASSWORD'), 'utf8')).toBe('demo-orders-password');
  });
});

describe('msmctl never prints a secret value', () => {
  const CANARY = 'CANARY-7f3e-do-not-print';
  let work: string;
  let keyFile: string;
  let otherKey: string;

  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-canary-'));
    const ageKeygen = peerPath('age');
    keyFile = path.join(work, 'key.txt');
    otherKey = path.join(work, 'other.txt');
    execFileSync(ageKeygen, ['-o', keyFile], { stdio: 'ignore' });
    execFileSync(ageKeygen, ['-o', otherKey], { stdio: 'ignore' });
    const dir = path.join(work, 'repo/svc/deployment-configuration/profiles/dev');
    execFileSync('mkdir', ['-p', dir]);
    const file = path.join(dir, 'application.secrets.env');
    writeFileSync(file, `TOKEN=${CANARY}\n#OLD_TOKEN=${CANARY}-old\n`);
    const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))?.[1] ?? '';
    execFileSync(peerPath('sops'), ['encrypt', '--age', recipient, '-i', file], {
      env: sopsEnv(keyFile),
      cwd: work,
    });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('in sync, dry-run, render and their errors', () => {
    const repo = path.join(work, 'repo');
    const out = `local:${path.join(work, 'out')}`;
    const runs = [
      msmctl(['sync', repo, '--env', 'dev', '--store', out, '--age-key-file', keyFile]),
      msmctl(['sync', repo, '--env', 'dev', '--store', out, '--age-key-file', keyFile, '-o', 'json']),
      msmctl([
        'sync',
        repo,
        '--env',
        'dev',
        '--store',
        out,
        '--age-key-file',
        keyFile,
        '--dry-run',
        '-o',
        'yaml',
      ]),
      msmctl(['render', repo, '--env', 'dev', '--age-key-file', keyFile, '-o', 'json']),
      msmctl(['render', repo, '--env', 'dev', '--age-key-file', keyFile]),
    ];
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    // Failures: the wrong key, and no key at all.
    const wrongKey = msmctl(['sync', repo, '--env', 'dev', '--store', out, '--age-key-file', otherKey]);
    expect(wrongKey.status).toBe(2);
    expect(wrongKey.stderr).toContain('application.secrets.env');
    const noKey = msmctl(['sync', repo, '--env', 'dev', '--store', out]);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/application\.secrets\.env.*no decryption key/);
    for (const r of [...runs, wrongKey, noKey]) {
      expect(r.stdout).not.toContain('CANARY');
      expect(r.stderr).not.toContain('CANARY');
    }
    // …while the value itself did arrive in the store.
    expect(readFileSync(path.join(work, 'out/svc-TOKEN'), 'utf8')).toBe(CANARY);
  });

  it('decrypt prints the plaintext file, as sops -d does', () => {
    const file = path.join(work, 'repo/svc/deployment-configuration/profiles/dev/application.secrets.env');
    const r = msmctl(['decrypt', file, '--age-key-file', keyFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      execFileSync(peerPath('sops'), ['decrypt', file], { env: sopsEnv(keyFile), encoding: 'utf8' }),
    );
    expect(msmctl(['decrypt', file], { env: { SOPS_AGE_KEY_FILE: keyFile } }).stdout).toBe(r.stdout);
  });
});

describe('kustomize mode without a kustomize binary', () => {
  it('says how to get one', () => {
    const r = msmctl(
      [
        'sync',
        path.join(repoRoot, 'examples/gitops'),
        '--env',
        'dev',
        '--kustomize-path',
        'overlays/dev',
        '--store',
        `local:${os.tmpdir()}/msmctl-nokust`,
        '--age-key-file',
        demoKey,
        '--dry-run',
      ],
      { env: { PATH: path.dirname(process.execPath), SMC_KUSTOMIZE_BIN: '' } },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/KustomizeNotFound/);
    expect(r.stderr).toMatch(/scripts\/peers install kustomize/);
  });
});
