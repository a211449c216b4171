import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildCrd, CRD_FILE, generatedFiles, REFERENCE_FILE } from '../../src/api/index.js';
import type { StructuralSchema } from '../../src/api/index.js';

const repo = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// A small structural-schema checker, written from the apiserver's rules
// (apiextensions-apiserver pkg/apiserver/schema: structural, defaulting, and CRD validation).

// JSONSchemaProps fields the apiserver knows. `$ref`, `$schema`, `definitions`, `dependencies`,
// `patternProperties`, `additionalItems`, `id`, `const` are unknown or forbidden in CRDs.
const ALLOWED = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'properties',
  'additionalProperties',
  'nullable',
  'example',
  'externalDocs',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
// Allowed by the apiserver only in restricted forms; this API needs none of them.
const AVOIDED = new Set(['allOf', 'anyOf', 'oneOf', 'not', 'uniqueItems']);

type Node = Record<string, unknown>;

function structuralProblems(node: Node, at: string, out: string[] = []): string[] {
  for (const key of Object.keys(node)) {
    if (AVOIDED.has(key)) out.push(`${at}: uses ${key}`);
    else if (!ALLOWED.has(key)) out.push(`${at}: keyword ${key} is not allowed in a CRD schema`);
  }
  const preserves =
    node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  if (typeof node.type !== 'string' && !preserves) out.push(`${at}: no type`);
  if (node.properties !== undefined && node.type !== 'object')
    out.push(`${at}: properties on type ${String(node.type)}`);
  if (node.additionalProperties === false) out.push(`${at}: additionalProperties: false`);
  if (node.additionalProperties !== undefined && node.properties !== undefined) {
    out.push(`${at}: properties and additionalProperties together`);
  }
  if (node.type === 'array' && (typeof node.items !== 'object' || Array.isArray(node.items))) {
    out.push(`${at}: array needs one items schema`);
  }
  if (
    node.type === 'object' &&
    node.properties === undefined &&
    node.additionalProperties === undefined &&
    !preserves &&
    at !== '.metadata'
  ) {
    out.push(`${at}: object with neither properties nor additionalProperties`);
  }
  const required = (node.required as string[] | undefined) ?? [];
  for (const r of required) {
    if (!node.properties || !(r in (node.properties as Node)))
      out.push(`${at}: required ${r} is not a property`);
  }
  for (const key of (node['x-kubernetes-list-map-keys'] as string[] | undefined) ?? []) {
    const item = node.items as Node;
    const itemRequired = (item.required as string[] | undefined) ?? [];
    const prop = (item.properties as Record<string, Node> | undefined)?.[key];
    if (!prop || (!itemRequired.includes(key) && prop.default === undefined)) {
      out.push(`${at}: list-map key ${key} must be required or defaulted`);
    }
  }
  for (const [k, child] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {})) {
    structuralProblems(child, `${at}.${k}`, out);
  }
  if (typeof node.additionalProperties === 'object')
    structuralProblems(node.additionalProperties as Node, `${at}[*]`, out);
  if (typeof node.items === 'object' && !Array.isArray(node.items))
    structuralProblems(node.items as Node, `${at}[]`, out);
  return out;
}

/** Every node under `node`, with its path. */
function nodes(
  node: StructuralSchema,
  at: string,
  out: [string, StructuralSchema][] = [],
): [string, StructuralSchema][] {
  out.push([at, node]);
  for (const [k, child] of Object.entries(node.properties ?? {})) nodes(child, `${at}.${k}`, out);
  if (node.additionalProperties) nodes(node.additionalProperties, `${at}[*]`, out);
  if (node.items) nodes(node.items, `${at}[]`, out);
  return out;
}

const checkedIn = async (path: string) => readFile(join(repo, path), 'utf8');
const crd = buildCrd();
const version = crd.spec.versions[0]!;
const schema = version.schema.openAPIV3Schema;
const spec = schema.properties!.spec!;

describe('generated files', () => {
  it('the checked-in CRD and reference equal a fresh generation (run `npm run gen:crd` when this fails)', async () => {
    for (const { path, content } of generatedFiles()) expect(await checkedIn(path), path).toBe(content);
  });

  it('gen-crd --check passes on this checkout and fails, naming the file, when one is stale', async () => {
    await run('npx', ['tsx', 'scripts/gen-crd.ts', '--check'], { cwd: repo });
    const dir = await mkdtemp(join(tmpdir(), 'gen-crd-'));
    try {
      await cp(join(repo, 'config'), join(dir, 'config'), { recursive: true });
      await cp(join(repo, 'docs'), join(dir, 'docs'), { recursive: true });
      await writeFile(
        join(dir, CRD_FILE),
        (await checkedIn(CRD_FILE)).replace('default: 5m', 'default: 10m'),
      );
      const failed = await run('npx', ['tsx', 'scripts/gen-crd.ts', '--check', '--root', dir], {
        cwd: repo,
      }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain(`${CRD_FILE}: stale`);
      expect(failed?.stderr).not.toContain(`${REFERENCE_FILE}: stale`);
      await run('npx', ['tsx', 'scripts/gen-crd.ts', '--root', dir], { cwd: repo });
      await run('npx', ['tsx', 'scripts/gen-crd.ts', '--check', '--root', dir], { cwd: repo });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the YAML parses back to the generated object, without anchors', async () => {
    const text = await checkedIn(CRD_FILE);
    expect(text).not.toMatch(/[&*][a-z0-9]+\s*$/m);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(crd)));
  });

  it('reads the same as YAML 1.1 (kubectl, Helm): no bare off/on/yes/no that would become a boolean', async () => {
    const text = await checkedIn(CRD_FILE);
    // `enum: [auto, annotated, off]` written bare reached the apiserver as [auto, annotated, false].
    expect(parse(text, { version: '1.1' })).toEqual(JSON.parse(JSON.stringify(crd)));
  });
});

describe('CRD identity', () => {
  it('names the resource as docs/crd-reference.md says', () => {
    expect(crd.metadata.name).toBe('secretmanagerconfigs.secret-management.octopilot.io');
    expect(crd.spec.group).toBe('secret-management.octopilot.io');
    expect(crd.spec.names).toMatchObject({
      kind: 'SecretManagerConfig',
      plural: 'secretmanagerconfigs',
      singular: 'secretmanagerconfig',
      shortNames: ['smc'],
    });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({
      name: 'v1beta1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it('has the printer columns', () => {
    expect(version.additionalPrinterColumns).toEqual([
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Secrets', type: 'integer', jsonPath: '.status.secretsCount' },
      { name: 'Last Sync', type: 'date', jsonPath: '.status.lastSyncTime' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Description', type: 'string', jsonPath: '.status.description', priority: 1 },
    ]);
    // Every column's field exists in the schema.
    for (const c of version.additionalPrinterColumns.filter((c) => c.jsonPath.startsWith('.status'))) {
      const field = c.jsonPath.split('.')[2]!.replace(/\[.*$/, '');
      expect(schema.properties!.status!.properties, c.name).toHaveProperty(field);
    }
  });
});

describe('structural schema', () => {
  it('passes the structural checks', () => {
    expect(structuralProblems(schema as unknown as Node, '')).toEqual([]);
  });

  it('the checker catches what the apiserver refuses', () => {
    const bad = {
      type: 'object',
      properties: {
        a: { $ref: '#/definitions/x' },
        b: { type: 'object', additionalProperties: false },
        d: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        e: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      },
    };
    expect(structuralProblems(bad, '')).toEqual([
      '.a: keyword $ref is not allowed in a CRD schema',
      '.a: no type',
      '.b: additionalProperties: false',
      '.d: uses anyOf',
      '.d: no type',
      '.e: properties and additionalProperties together',
    ]);
  });

  it('keeps the root to apiVersion, kind, metadata, spec and status', () => {
    expect(Object.keys(schema.properties!)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    expect(schema.properties!.metadata).toEqual({ type: 'object' });
    expect(schema.required).toEqual(['spec']);
  });

  it('preserves no unknown fields anywhere', () => {
    expect(nodes(schema, '').filter(([, n]) => n['x-kubernetes-preserve-unknown-fields'])).toEqual([]);
  });

  it('describes every spec and status field', () => {
    const undescribed = [...nodes(spec, 'spec'), ...nodes(schema.properties!.status!, 'status')]
      .filter(([path, n]) => !path.endsWith('[]') && !path.endsWith('[*]') && !n.description)
      .map(([path]) => path);
    expect(undescribed).toEqual([]);
  });

  it('bounds every string, list and map in spec, so CEL cost estimates stay small', () => {
    const unbounded = nodes(spec, 'spec')
      .filter(
        ([, n]) =>
          (n.type === 'string' && n.enum === undefined && n.maxLength === undefined) ||
          (n.type === 'array' && n.maxItems === undefined) ||
          (n.type === 'object' && n.additionalProperties !== undefined && n.maxProperties === undefined),
      )
      .map(([path]) => path);
    expect(unbounded).toEqual([]);
  });

  it('uses only RE2-compatible patterns', () => {
    for (const [path, n] of nodes(schema, '')) {
      if (!n.pattern) continue;
      expect(n.pattern, path).toMatch(/^\^.*\$$/);
      expect(n.pattern, path).not.toMatch(/\(\?[=!<]|\\[1-9]|\\[pP]\{/);
    }
  });

  it('has a default for every field docs/crd-reference.md defaults', () => {
    const defaults = Object.fromEntries(
      nodes(spec, 'spec')
        .filter(([, n]) => n.default !== undefined && n.type !== 'object')
        .map(([path, n]) => [path, n.default]),
    );
    expect(defaults).toEqual({
      'spec.sourceRef.kind': 'GitRepository',
      'spec.provider.gcp.auth.type': 'workloadIdentity',
      'spec.provider.gcp.auth.secretRef.key': 'credentials.json',
      'spec.provider.aws.auth.type': 'default',
      'spec.provider.azure.auth.type': 'workloadIdentity',
      'spec.secrets.sops.enabled': true,
      'spec.secrets.sops.ageSecretRef.key': 'age.agekey',
      'spec.secrets.sops.gpgSecretRef.key': 'private.key',
      'spec.secrets.allowPlaintext': false,
      'spec.configs.enabled': false,
      'spec.configs.store': 'SecretManager',
      'spec.reconcileInterval': '1m',
      'spec.gitRepositoryPullInterval': '5m',
      'spec.diffDiscovery': false,
      'spec.driftPolicy': 'Report',
      'spec.triggerUpdate': true,
      'spec.deletionPolicy': 'Retain',
      'spec.allowPruneAll': false,
      'spec.suspend': false,
      'spec.suspendGitPulls': false,
      'spec.hotReload.enabled': false,
      'spec.hotReload.configMapName': 'secret-manager-controller-config',
      'spec.hotReload.workloads': 'annotated',
      'spec.otel.exporter': 'otlp',
    });
  });

  it('has the enums and patterns of docs/crd-reference.md', () => {
    const at = (path: string) => nodes(schema, '').find(([p]) => p === path)?.[1];
    expect(at('.spec.sourceRef.kind')?.enum).toEqual([
      'GitRepository',
      'OCIRepository',
      'Bucket',
      'Application',
    ]);
    expect(at('.spec.driftPolicy')?.enum).toEqual(['Report', 'Correct']);
    expect(at('.spec.deletionPolicy')?.enum).toEqual(['Retain', 'Disable', 'Delete']);
    expect(at('.spec.configs.store')?.enum).toEqual(['SecretManager', 'ParameterManager']);
    expect(at('.spec.logging.git')?.enum).toEqual(['ERROR', 'WARN', 'INFO', 'DEBUG']);
    expect(at('.status.phase')?.enum).toEqual(['Pending', 'Syncing', 'Synced', 'Error', 'Suspended']);
    expect(at('.status.entries[].state')?.enum).toEqual([
      'Synced',
      'Disabled',
      'Failed',
      'Drifted',
      'Conflict',
    ]);
    expect(at('.spec.secrets.prefix')?.pattern).toBe('^[A-Za-z0-9_-]+$');
    expect(at('.spec.secrets.environment')?.maxLength).toBe(63);
    expect(at('.spec.provider.azure.vaultUrl')?.pattern).toMatch(/^\^https:\/\//);
    expect(at('.spec.configs.parameterPath')?.pattern).toBe('^(/[A-Za-z0-9_.-]+)+$');
    expect(at('.status.lastSyncTime')).toMatchObject({ type: 'string', format: 'date-time' });
    expect(at('.status.conditions')).toMatchObject({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });
});

describe('CEL rules', () => {
  const rules = nodes(spec, 'spec').flatMap(([path, n]) =>
    (n['x-kubernetes-validations'] ?? []).map((v) => ({ at: `${path}${v.fieldPath ?? ''}`, ...v })),
  );

  it('are present for every cross-field rule', () => {
    expect(rules.map((r) => r.at).sort()).toEqual(
      [
        'spec.configs.appConfigEndpoint',
        'spec.configs.parameterPath',
        'spec.configs.store',
        'spec.driftPolicy',
        'spec.gitRepositoryPullInterval',
        'spec.notifications.argocd',
        'spec.provider',
        'spec.provider.aws.auth.roleArn',
        'spec.provider.aws.auth.roleArn',
        'spec.provider.aws.auth.secretRef',
        'spec.provider.aws.auth.secretRef',
        'spec.provider.azure',
        'spec.provider.azure.auth.clientId',
        'spec.provider.azure.auth.secretRef',
        'spec.provider.azure.auth.secretRef',
        'spec.provider.azure.auth.tenantId',
        'spec.provider.gcp.auth.secretRef',
        'spec.provider.gcp.auth.secretRef',
        'spec.reconcileInterval',
        'spec.secrets.basePath',
        'spec.secrets.environment',
        'spec.sourceRef.gitCredentials',
      ].sort(),
    );
  });

  it('carry a message and a known reason, and point fieldPath at a declared field', () => {
    const all = nodes(schema, '');
    for (const r of rules) {
      expect(r.message, r.at).toMatch(/\S/);
      if (r.reason)
        expect(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueInvalid']).toContain(r.reason);
      expect(
        all.some(([p]) => p === `.${r.at}`),
        r.at,
      ).toBe(true);
    }
  });

  it('use only cheap constructs (no loops over user data)', () => {
    for (const r of rules) expect(r.rule, r.at).not.toMatch(/\.(all|exists|exists_one|map)\(/);
  });

  it('exactly-one-provider is enforced at spec.provider', () => {
    const provider = rules.find((r) => r.at === 'spec.provider');
    expect(provider?.rule).toContain('has(self.gcp)');
    expect(provider?.rule).toContain('has(self.kubernetes)');
    expect(provider?.rule).toContain('== 1');
  });
});
