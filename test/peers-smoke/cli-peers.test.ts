/** The command-line peers answer as the pinned versions, and work (scripts/peers builds them). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { peerPath } from '../peers.js';

const run = (bin: string, args: string[], env?: NodeJS.ProcessEnv) =>
  execFileSync(bin, args, { encoding: 'utf8', env: { ...process.env, ...env } });

describe('command-line peers', () => {
  it('sops is v3.13.2 and round-trips a file with a fresh age key', () => {
    const sops = peerPath('sops');
    expect(run(sops, ['--version', '--disable-version-check'])).toMatch(/^sops 3\.13\.2/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smoke-sops-'));
    try {
      const key = path.join(dir, 'key.txt');
      run(peerPath('age'), ['-o', key]);
      const recipient = /public key: (age1\w+)/.exec(readFileSync(key, 'utf8'))![1]!;
      const file = path.join(dir, 'a.yaml');
      writeFileSync(file, 'token: smoke\n');
      run(sops, ['encrypt', '--age', recipient, '-i', file]);
      expect(readFileSync(file, 'utf8')).toMatch(/ENC\[AES256_GCM/);
      expect(run(sops, ['decrypt', file], { SOPS_AGE_KEY_FILE: key })).toBe('token: smoke\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kustomize is v5.8.1 and builds a generator', () => {
    const kustomize = peerPath('kustomize');
    expect(run(kustomize, ['version'])).toMatch(/v5\.8\.1/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smoke-kustomize-'));
    try {
      writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        'configMapGenerator:\n  - name: c\n    literals: [A=1]\ngeneratorOptions:\n  disableNameSuffixHash: true\n',
      );
      const docs = parseAllDocuments(run(kustomize, ['build', dir])).map((d) => d.toJS());
      expect(docs).toEqual([
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { A: '1' } },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
