/**
 * The cloud SDKs and OpenPGP are loaded only when a store, key service or PGP key needs them, the
 * OpenTelemetry SDK only when tracing is on (docs/performance.md, "Memory"): the registry, the
 * controller's and msmctl's entry modules and the SOPS code load none of them at import. Each case runs in its own Node process and lists the
 * npm packages that process resolved (fixtures/lazy/loaded-packages.mjs).
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
const fixtures = join(import.meta.dirname, 'fixtures', 'lazy');

/** A cloud SDK, its transport, or OpenPGP. */
const HEAVY =
  /^(@google-cloud\/|@aws-sdk\/|@azure\/|@azure-rest\/|@smithy\/|@grpc\/|google-gax$|google-auth-library$|openpgp$)/;

async function loadedPackages(...modules: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(fixtures, 'loaded-packages.mjs'), ...modules.map((m) => join(repoRoot, m))],
    { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
}

describe('SDKs loaded on first use', () => {
  it.each([
    'src/stores/registry.ts',
    'src/cli/store-spec.ts',
    'src/controller/stores.ts',
    'src/controller/main.ts',
    'src/sops/index.ts',
  ])('importing %s loads no cloud SDK and no OpenPGP', async (module) => {
    const loaded = await loadedPackages(module);
    expect(loaded).toContain('yaml'); // the hook saw the module's own imports
    expect(loaded.filter((p) => HEAVY.test(p))).toEqual([]);
  });

  it('opening a store of each cloud type loads its SDK', async () => {
    const loaded = await loadedPackages(
      'src/stores/registry.ts',
      'test/stores/fixtures/lazy/open-cli-stores.ts',
    );
    for (const sdk of [
      '@google-cloud/secret-manager',
      '@google-cloud/parametermanager',
      '@aws-sdk/client-secrets-manager',
      '@aws-sdk/client-ssm',
      '@azure/keyvault-secrets',
      '@azure/app-configuration',
      '@azure/identity',
    ]) {
      expect(loaded).toContain(sdk);
    }
    expect(loaded).not.toContain('openpgp');
  });

  it('the controller loads the OpenTelemetry SDK only when tracing is on', async () => {
    const sdk = (loaded: string[]) => loaded.filter((p) => /^@opentelemetry\/(?!api$)/.test(p));
    expect(sdk(await loadedPackages('src/controller/main.ts'))).toEqual([]);
    const on = await loadedPackages('src/controller/main.ts', 'test/stores/fixtures/lazy/tracing-on.ts');
    expect(sdk(on)).toContain('@opentelemetry/sdk-trace');
    expect(sdk(on)).toContain('@opentelemetry/exporter-trace-otlp-http');
  });

  it('reading a PGP message loads OpenPGP', async () => {
    const loaded = await loadedPackages('src/sops/index.ts', 'test/stores/fixtures/lazy/read-pgp-message.ts');
    expect(loaded).toContain('openpgp');
    expect(loaded.filter((p) => HEAVY.test(p) && p !== 'openpgp')).toEqual([]);
  });
});
