/**
 * The CRD and its rules, checked by the apiserver's own validation code (test/api/crdcheck, Go).
 * scripts/peers builds crdcheck (the global test setup runs it); a later suite applies the CRD to a
 * real kube-apiserver.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { API_VERSION, CRD_FILE, KIND, parseSpec } from '../../src/api/index.js';
import { peerPath } from '../peers.js';
import { INVALID_SPECS, VALID_SPECS } from './cases.js';

const crdcheck = peerPath('crdcheck');
const repo = resolve(import.meta.dirname, '../..');

interface Result {
  name: string;
  errors: string[] | null;
  defaulted: { spec: unknown };
}

describe('apiserver validation (crdcheck)', () => {
  it('accepts the CRD, and agrees with zod on every example', async () => {
    const object = (spec: unknown) => ({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: 'x', namespace: 'ns' },
      spec,
    });
    const cases = [
      ...Object.entries(VALID_SPECS).map(([name, spec]) => ({ name, object: object(spec) })),
      ...INVALID_SPECS.filter((c) => !c.zodOnly).map((c) => ({ name: c.name, object: object(c.spec) })),
    ];
    const dir = await mkdtemp(join(tmpdir(), 'crdcheck-'));
    try {
      await writeFile(join(dir, 'cases.json'), JSON.stringify(cases));
      const { stdout } = await promisify(execFile)(
        crdcheck,
        [join(repo, CRD_FILE), join(dir, 'cases.json')],
        {
          maxBuffer: 16 << 20,
        },
      );
      const results = new Map((JSON.parse(stdout) as Result[]).map((r) => [r.name, r]));
      for (const [name, spec] of Object.entries(VALID_SPECS)) {
        expect(results.get(name)?.errors ?? [], name).toEqual([]);
        expect(results.get(name)?.defaulted.spec, `${name}: apiserver defaults`).toEqual(
          parseSpec(spec, name),
        );
      }
      for (const c of INVALID_SPECS.filter((c) => !c.zodOnly)) {
        const errors = results.get(c.name)?.errors ?? [];
        const paths = errors.map((e) => e.replace(/^\[\]\./, '').split(':')[0]);
        expect([...new Set(paths)].sort(), `${c.name}: ${errors.join(' | ')}`).toEqual([...c.paths].sort());
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
