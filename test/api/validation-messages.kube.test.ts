/**
 * What `kubectl apply` says about a bad SecretManagerConfig, on the real apiserver: the field's own
 * error first; after a "blocking" schema error (required, enum, too long/many, wrong type) the
 * apiserver adds "some validation rules were not checked…" because it then skips every CEL rule,
 * not because one of ours is too expensive or unevaluable: with that error fixed, the CEL rules run
 * and give their own message. docs/troubleshooting.md explains the line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../peers/kube/index.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
const NOT_CHECKED = 'some validation rules were not checked because the object was invalid';

async function applyError(spec: Record<string, unknown>): Promise<string> {
  const ns = await kube().createNamespace('validation');
  const obj = {
    apiVersion: 'secret-management.octopilot.io/v1beta1',
    kind: 'SecretManagerConfig',
    metadata: { name: 'payments', namespace: ns },
    spec: {
      sourceRef: { kind: 'GitRepository', name: 'apps' },
      provider: { kubernetes: {} },
      secrets: { environment: 'dev' },
      ...spec,
    },
  };
  return kube()
    .kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(obj) })
    .then(
      () => '',
      (e: Error) => e.message,
    );
}

describe('validation messages', () => {
  it('a blocking schema error comes first, and the apiserver then skips every CEL rule', async () => {
    const out = await applyError({
      deletionPolicy: 'Remove',
      secrets: { environment: 'dev', basePath: 'a', kustomizePath: 'b' },
    });
    expect(out).toContain('spec.deletionPolicy: Unsupported value: "Remove"');
    expect(out).toContain(NOT_CHECKED);
    // The CEL rule this object also breaks is not reported: all rules were skipped.
    expect(out).not.toContain('basePath');
  });

  it('with that fixed, the CEL rules are evaluated and speak for themselves', async () => {
    const out = await applyError({ secrets: { environment: 'dev', basePath: 'a', kustomizePath: 'b' } });
    expect(out).toContain('spec.secrets');
    expect(out).toContain('basePath');
    expect(out).not.toContain(NOT_CHECKED);
    // A valid object passes: no rule is left unevaluated.
    expect(await applyError({})).toBe('');
  });

  it('docs/troubleshooting.md explains the line', async () => {
    const md = await readFile(join(repoRoot, 'docs/troubleshooting.md'), 'utf8');
    expect(md).toContain(NOT_CHECKED);
    expect(md).toContain('test/api/validation-messages.kube.test.ts');
  });
});
