import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { discoverServices } from '../../src/render/discovery.js';
import { makeTree, removeTree } from './helpers.js';

const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}
afterEach(() => {
  while (roots.length) removeTree(roots.pop() as string);
});

const DC = 'deployment-configuration';

describe('discoverServices', () => {
  it('finds every service directory with a deployment-configuration, in path order', async () => {
    const root = tree({
      [`services/payments/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`services/payments/${DC}/profiles/prod/application.properties`]: 'p=1',
      [`services/orders/${DC}/profiles/prod/application.secrets.yaml`]: 'a: 1',
      [`services/orders/${DC}/profiles/dev/application.secrets.env`]: 'A=1',
      [`apps/deep/nested/billing/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      'README.md': '# repo',
    });
    const found = await discoverServices({ root, environment: 'prod', rootServiceName: 'smc' });
    expect(found).toEqual([
      {
        service: 'billing',
        configDir: `apps/deep/nested/billing/${DC}`,
        profileDir: `apps/deep/nested/billing/${DC}/profiles/prod`,
        env: `apps/deep/nested/billing/${DC}/profiles/prod/application.secrets.env`,
      },
      {
        service: 'orders',
        configDir: `services/orders/${DC}`,
        profileDir: `services/orders/${DC}/profiles/prod`,
        yaml: `services/orders/${DC}/profiles/prod/application.secrets.yaml`,
      },
      {
        service: 'payments',
        configDir: `services/payments/${DC}`,
        profileDir: `services/payments/${DC}/profiles/prod`,
        env: `services/payments/${DC}/profiles/prod/application.secrets.env`,
        properties: `services/payments/${DC}/profiles/prod/application.properties`,
      },
    ]);
  });

  it('falls back to <environment>/ when profiles/<environment>/ is missing', async () => {
    const root = tree({
      [`a/${DC}/prod/application.secrets.env`]: 'A=1', // legacy layout only
      [`b/${DC}/profiles/prod/application.secrets.env`]: 'A=1', // profiles wins over legacy
      [`b/${DC}/prod/application.secrets.env`]: 'A=2',
      [`c/${DC}/profiles/dev/application.secrets.env`]: 'A=1', // profiles/ exists, not for prod
      [`c/${DC}/prod/application.secrets.env`]: 'A=2',
    });
    const found = await discoverServices({ root, environment: 'prod', rootServiceName: 'smc' });
    expect(found.map((s) => [s.service, s.profileDir])).toEqual([
      ['a', `a/${DC}/prod`],
      ['b', `b/${DC}/profiles/prod`],
      ['c', `c/${DC}/prod`],
    ]);
  });

  it('names a deployment-configuration in the source root after rootServiceName, not the directory', async () => {
    const root = tree({
      [`${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`svc/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
    });
    const found = await discoverServices({ root, environment: 'prod', rootServiceName: 'my-prefix' });
    expect(found.map((s) => [s.service, s.configDir])).toEqual([
      ['my-prefix', DC],
      ['svc', `svc/${DC}`],
    ]);
    expect(found.map((s) => s.service)).not.toContain(path.basename(root));
  });

  it('searches under basePath only; basePath may name a deployment-configuration directory', async () => {
    const root = tree({
      [`team-a/api/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`team-b/api2/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
    });
    expect(
      (await discoverServices({ root, basePath: 'team-a', environment: 'prod', rootServiceName: 'x' })).map(
        (s) => s.service,
      ),
    ).toEqual(['api']);
    expect(
      (
        await discoverServices({ root, basePath: './team-b/', environment: 'prod', rootServiceName: 'x' })
      ).map((s) => s.service),
    ).toEqual(['api2']);
    expect(
      (
        await discoverServices({
          root,
          basePath: `team-a/api/${DC}`,
          environment: 'prod',
          rootServiceName: 'x',
        })
      ).map((s) => s.service),
    ).toEqual(['api']);
  });

  it('skips hidden directories, node_modules, files for other environments and empty profiles', async () => {
    const root = tree({
      [`.git/x/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`.hidden/svc/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`node_modules/pkg/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`svc/${DC}/profiles/prod/unrelated.txt`]: 'x',
      [`svc/${DC}/profiles/prod/nested/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`ok/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
    });
    const found = await discoverServices({ root, environment: 'prod', rootServiceName: 'x' });
    expect(found.map((s) => s.service)).toEqual(['ok']);
  });

  it('does not follow symbolic links out of the root', async () => {
    const outside = tree({
      [`evil/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      'secret.env': 'A=1',
    });
    const root = tree({ [`svc/${DC}/profiles/prod/application.properties`]: 'a=1' });
    symlinkSync(path.join(outside, 'evil'), path.join(root, 'linked'));
    // a linked directory is never walked
    expect(
      (await discoverServices({ root, environment: 'prod', rootServiceName: 'x' })).map((s) => s.service),
    ).toEqual(['svc']);
    // a linked file that leaves the root is refused
    symlinkSync(
      path.join(outside, 'secret.env'),
      path.join(root, `svc/${DC}/profiles/prod/application.secrets.env`),
    );
    await expect(discoverServices({ root, environment: 'prod', rootServiceName: 'x' })).rejects.toThrow(
      /points outside the source/,
    );
  });

  it('reads a linked file that stays inside the root', async () => {
    const root = tree({ [`svc/${DC}/shared.env`]: 'A=1' });
    mkdirSync(path.join(root, `svc/${DC}/profiles/prod`), { recursive: true });
    symlinkSync('../../shared.env', path.join(root, `svc/${DC}/profiles/prod/application.secrets.env`));
    const found = await discoverServices({ root, environment: 'prod', rootServiceName: 'x' });
    expect(found[0]?.env).toBe(`svc/${DC}/profiles/prod/application.secrets.env`);
  });

  it('refuses a missing root, a missing or escaping basePath, and a path-like environment', async () => {
    const root = tree({ 'x.txt': '' });
    writeFileSync(path.join(root, 'file'), '');
    const cases: Array<[Parameters<typeof discoverServices>[0], string]> = [
      [
        { root: path.join(os.tmpdir(), 'smc-no-such-dir-xyz'), environment: 'prod', rootServiceName: 'x' },
        'SourceNotFound',
      ],
      [{ root, basePath: 'missing', environment: 'prod', rootServiceName: 'x' }, 'SourceNotFound'],
      [{ root, basePath: 'file', environment: 'prod', rootServiceName: 'x' }, 'SourceNotFound'],
      [{ root, basePath: '../elsewhere', environment: 'prod', rootServiceName: 'x' }, 'InvalidSpec'],
      [{ root, basePath: '/etc', environment: 'prod', rootServiceName: 'x' }, 'InvalidSpec'],
      [{ root, environment: '../prod', rootServiceName: 'x' }, 'InvalidSpec'],
      [{ root, environment: '..', rootServiceName: 'x' }, 'InvalidSpec'],
    ];
    for (const [opts, code] of cases) {
      const err = await discoverServices(opts).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSmcError(err, code as 'SourceNotFound'), `${JSON.stringify(opts)}: ${String(err)}`).toBe(true);
    }
  });
});
