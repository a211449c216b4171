/**
 * Hostile YAML: alias bombs, self-referencing anchors and deep nesting are refused by every YAML
 * reader, with an error naming the file, in bounded memory and time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseHeaders } from '../../src/controller/notifications/flux-event.js';
import { isSmcError } from '../../src/errors.js';
import { entriesFromBuildOutput } from '../../src/render/kustomize.js';
import { parseYaml } from '../../src/render/yaml.js';
import { isSopsEncrypted, loadTree } from '../../src/sops/format.js';
import { msmctl } from '../cli/run.js';
import { peerPath } from '../peers.js';
import { makeTree, removeTree } from './helpers.js';

/** Eight levels of nine aliases each: 9^8 ≈ 43 million "lol"s once expanded. */
export function aliasBomb(withSops: boolean): string {
  const names = 'abcdefgh'.split('');
  const lines = names.map((n, i) =>
    i === 0
      ? `${n}: &${n} [${Array(9).fill('"lol"').join(',')}]`
      : `${n}: &${n} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(',')}]`,
  );
  if (withSops) {
    lines.push(
      'sops:',
      '  lastmodified: "2024-01-01T00:00:00Z"',
      '  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]',
    );
  }
  return lines.join('\n') + '\n';
}

const FILE = 'svc/deployment-configuration/profiles/dev/application.secrets.yaml';
const roots: string[] = [];
afterAll(() => roots.forEach(removeTree));

function expectRefused(fn: () => unknown, code: string, message: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isSmcError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toMatch(message);
}

describe('alias bomb', () => {
  it('msmctl render refuses it naming the file, within a 96 MB heap', () => {
    const root = makeTree({ [FILE]: aliasBomb(true) });
    roots.push(root);
    const r = msmctl(['render', root, '--env', 'dev', '--prefix', 'svc'], {
      env: { NODE_OPTIONS: '--max-old-space-size=96' },
    });
    expect(r.stderr).not.toMatch(/heap out of memory/i);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('application.secrets.yaml');
    expect(r.stderr).toMatch(/alias/i);
  });

  it('anywhere in a kustomize tree does not crash kustomize mode', () => {
    const root = makeTree({
      'overlay/kustomization.yaml':
        'secretGenerator:\n  - name: app\n    literals:\n      - API_KEY=canary-not-a-secret\n',
      'elsewhere/application.secrets.yaml': aliasBomb(true),
    });
    roots.push(root);
    const r = msmctl(['render', root, '--env', 'dev', '--kustomize-path', 'overlay', '-o', 'json'], {
      env: { NODE_OPTIONS: '--max-old-space-size=96', SMC_KUSTOMIZE_BIN: peerPath('kustomize') },
    });
    expect(r.stderr).not.toMatch(/heap out of memory/i);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('API_KEY');
  });

  it('is refused by the raw-file YAML parser', () => {
    expectRefused(() => parseYaml(aliasBomb(false), FILE), 'ParseError', /application\.secrets\.yaml.*alias/);
  });

  it('is refused by the SOPS YAML loader, and is not taken for a SOPS file', () => {
    expectRefused(
      () => loadTree('yaml', Buffer.from(aliasBomb(true)), FILE),
      'SopsInvalidFile',
      /application\.secrets\.yaml.*alias/,
    );
    expect(isSopsEncrypted(aliasBomb(true), 'yaml')).toBe(false);
  });

  it('is refused in kustomize build output', () => {
    const output = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  ${aliasBomb(false).replace(/\n/g, '\n  ')}`;
    expectRefused(() => entriesFromBuildOutput(output, 'overlay'), 'KustomizeFailed', /overlay.*alias/);
  });

  it('is refused in a notification Provider headers Secret', () => {
    expect(() => parseHeaders(aliasBomb(false), 'Secret ns/hook key headers')).toThrow(
      /Secret ns\/hook key headers.*alias/,
    );
  });
});

describe('an anchor that contains its own alias', () => {
  const cyclic = 'a: &a [x, *a]\n';
  it('is refused by every reader with a typed error', () => {
    expectRefused(() => parseYaml(cyclic, FILE), 'ParseError', /alias/);
    expectRefused(
      () => loadTree('yaml', Buffer.from(cyclic + 'sops:\n  mac: x\n'), FILE),
      'SopsInvalidFile',
      /alias/,
    );
  });
});

describe('deep nesting', () => {
  const deepFlow = 'a: ' + '['.repeat(50_000) + ']'.repeat(50_000) + '\n';
  const deepBlock = Array.from({ length: 300 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' v\n';

  it('is refused by the raw-file YAML parser', () => {
    expectRefused(() => parseYaml(deepFlow, FILE), 'ParseError', /application\.secrets\.yaml.*nest/);
    expectRefused(() => parseYaml(deepBlock, FILE), 'ParseError', /application\.secrets\.yaml.*nest/);
  });

  it('is refused by the SOPS YAML loader', () => {
    expectRefused(() => loadTree('yaml', Buffer.from(deepFlow), FILE), 'SopsInvalidFile', /nest/);
    expectRefused(() => loadTree('yaml', Buffer.from(deepBlock), FILE), 'SopsInvalidFile', /nest/);
  });

  it('is refused in kustomize build output', () => {
    expectRefused(() => entriesFromBuildOutput(deepFlow, 'overlay'), 'KustomizeFailed', /overlay.*nest/);
  });

  it('below the limit is read as before', () => {
    const ok = Array.from({ length: 50 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' v\n';
    const entries = parseYaml(ok, FILE);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.key.split('.')).toHaveLength(50);
  });
});

describe('deep nesting in a SOPS JSON (or binary) file', () => {
  it('is refused with a typed error, not a stack overflow', () => {
    const deep = '{"a":' + '['.repeat(200_000) + ']'.repeat(200_000) + ',"sops":{"mac":"x"}}';
    expectRefused(
      () => loadTree('json', Buffer.from(deep), 'a.enc.json'),
      'SopsInvalidFile',
      /a\.enc\.json.*nest/,
    );
    expectRefused(() => loadTree('binary', Buffer.from(deep), 'a.bin'), 'SopsInvalidFile', /a\.bin.*nest/);
  });
});
