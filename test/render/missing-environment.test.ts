/**
 * An environment no service has a profile directory for is an error, not an empty set
 * (src/render/discovery.ts): an empty set would prune the store, so `dve` for `dev` must stop here.
 */
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSmcError } from '../../src/errors.js';
import { discoverServices } from '../../src/render/discovery.js';
import { makeTree, removeTree } from './helpers.js';

const DC = 'deployment-configuration';
const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const r = makeTree(files);
  roots.push(r);
  return r;
}
afterEach(() => {
  while (roots.length) removeTree(roots.pop()!);
});

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isSmcError(e, 'EnvironmentNotFound'), String(e)).toBe(true);
  return e as Error;
}

describe('discoverServices: a missing environment', () => {
  it('names the profile directories looked for and lists the environments there are', async () => {
    const root = tree({
      [`payments/${DC}/profiles/dev/application.secrets.env`]: 'A=1',
      [`payments/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`catalog/${DC}/profiles/dev/application.properties`]: 'a=1',
      [`legacy/${DC}/staging/application.secrets.env`]: 'A=1', // legacy layout
      [`legacy/${DC}/templates/README.md`]: 'not an environment',
    });
    const e = await failure(discoverServices({ root, environment: 'dve', rootServiceName: 'x' }));
    expect(e.message).toBe(
      `environment "dve" has no profile directory: catalog/${DC}/profiles/dve/, legacy/${DC}/profiles/dve/, ` +
        `payments/${DC}/profiles/dve/ do not exist (nor the legacy <${DC}>/dve/); environments found: dev, prod, staging`,
    );
  });

  it('shortens a long list of directories', async () => {
    const files: Record<string, string> = {};
    for (const s of ['a', 'b', 'c', 'd', 'e'])
      files[`${s}/${DC}/profiles/prod/application.secrets.env`] = 'A=1';
    const e = await failure(
      discoverServices({ root: tree(files), environment: 'prd', rootServiceName: 'x' }),
    );
    expect(e.message).toContain(`c/${DC}/profiles/prd/ and 2 more do not exist`);
    expect(e.message).toContain('environments found: prod');
  });

  it('an environment one service has is enough: the others are left out, as before', async () => {
    const root = tree({
      [`a/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`b/${DC}/profiles/dev/application.secrets.env`]: 'A=1',
    });
    const found = await discoverServices({ root, environment: 'dev', rootServiceName: 'x' });
    expect(found.map((s) => s.service)).toEqual(['b']);
  });

  it('an existing but empty profile directory is an environment with nothing in it (no error)', async () => {
    const root = tree({ [`a/${DC}/profiles/dev/.keep`]: '' });
    expect(await discoverServices({ root, environment: 'dev', rootServiceName: 'x' })).toEqual([]);
  });

  it('a source with no deployment-configuration directory at all is an error too', async () => {
    const root = tree({ 'README.md': '# nothing here', 'team/notes.txt': '' });
    const e = await failure(discoverServices({ root, environment: 'dev', rootServiceName: 'x' }));
    expect(e.message).toContain(`no ${DC} directory under the source root`);
    const sub = await failure(
      discoverServices({ root, basePath: 'team', environment: 'dev', rootServiceName: 'x' }),
    );
    expect(sub.message).toContain(`no ${DC} directory under basePath team`);
  });

  it('a profile directory that is a symbolic link does not count, and odd names are not listed', async () => {
    const root = tree({
      [`a/${DC}/profiles/prod/application.secrets.env`]: 'A=1',
      [`a/${DC}/profiles/.hidden/application.secrets.env`]: 'A=1',
      [`a/${DC}/profiles/bad\u001b]0;x\u0007/application.secrets.env`]: 'A=1',
    });
    symlinkSync(path.join(root, `a/${DC}/profiles/prod`), path.join(root, `a/${DC}/profiles/dev`));
    const e = await failure(discoverServices({ root, environment: 'dev', rootServiceName: 'x' }));
    expect(e.message).toMatch(/environments found: prod$/);
  });
});
