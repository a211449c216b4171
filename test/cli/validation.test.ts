/**
 * Command-line values are checked when they are parsed, before any store client is built: a bad
 * value is a usage error (exit 2) naming the option, its value and what is expected — never an
 * "unexpected Error", never a network call.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStoreSpec } from '../../src/cli/store-spec.js';
import { repoRoot } from '../peers.js';
import { msmctl, msmctlAsync } from './run.js';

const example = path.join(repoRoot, 'examples/gitops');
const demoKey = path.join(repoRoot, 'examples/keys/demo.agekey');

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'msmctl-validation-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('option values with a fixed set of choices', () => {
  it('decrypt --input-type xml names the option and the choices', () => {
    const r = msmctl([
      'decrypt',
      '--input-type',
      'xml',
      path.join(example, 'overlays/dev/dev.enc.env'),
      '--age-key-file',
      demoKey,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--input-type.*'xml' is invalid.*yaml, json, dotenv, ini, binary/);
    expect(r.stderr).not.toMatch(/unexpected/);
    expect(r.stdout).toBe('');
  });

  it('sync -o xml names the option and the choices, and writes nothing', () => {
    const store = path.join(work, 'o-xml');
    const r = msmctl([
      'sync',
      example,
      '--env',
      'dev',
      '--store',
      `local:${store}`,
      '-o',
      'xml',
      '--age-key-file',
      demoKey,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--output.*'xml' is invalid.*table, json, yaml/);
    expect(r.stderr).not.toMatch(/unexpected/);
    expect(existsSync(store)).toBe(false);
  });
});

describe('store specs are validated at parse time, without a network call', () => {
  let server: Server;
  let requests = 0;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'counting server' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const kubeconfig = path.join(work, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "' + url + '"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    env = {
      AWS_ENDPOINT_URL: url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_ENDPOINT_URL_SSM: url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SMC_GCP_SECRET_MANAGER_ENDPOINT: url,
      SMC_GCP_PARAMETER_MANAGER_ENDPOINT: url,
      METADATA_SERVER_DETECTION: 'none',
      KUBECONFIG: kubeconfig,
    };
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const sync = (...storeArgs: string[]) =>
    msmctlAsync(['sync', example, '--env', 'dev', '--age-key-file', demoKey, ...storeArgs], { env });

  it('the counting server does see a valid spec (so the refusals below prove something)', async () => {
    requests = 0;
    const r = await sync('--store', 'aws:eu-central-1');
    expect(r.status).toBe(2);
    expect(requests).toBeGreaterThan(0);
  });

  const invalid: [spec: string, expected: RegExp][] = [
    ['aws:not a region', /AWS region/],
    ['aws:eu-central-1/x', /aws:REGION/],
    ['ssm:not a region', /AWS region/],
    ['ssm:eu-west-1/bad path!', /SSM path/],
    ['gcp:Not_A_Project', /GCP project/],
    ['gcp:my-project/not a region', /GCP region/],
    ['gcp-pm:x', /GCP project/],
    ['azure:not a vault!', /VAULT_NAME/],
    ['azure:http://vault.example', /https/],
    ['appconfig:ftp://store.example', /https/],
    ['k8s:Bad_NS/app', /namespace/],
    ['k8s:ns/Bad_Name', /Secret name/],
    ['k8s:ns', /k8s:NAMESPACE\/NAME/],
    ['local:', /TYPE:TARGET/],
    ['foo:bar', /unknown store type "foo"/],
  ];
  for (const [spec, expected] of invalid) {
    it(`--store ${spec}: refused by the parser, naming what is expected`, () => {
      expect(() => parseStoreSpec(spec)).toThrow(expected);
    });
  }

  // Through the command line: a usage error naming the option, before any client is built.
  for (const spec of ['aws:not a region', 'ssm:eu-west-1/bad path!', 'gcp:Not_A_Project', 'k8s:Bad_NS/app']) {
    it(`msmctl sync --store ${spec}: exit 2, no request`, async () => {
      requests = 0;
      const r = await sync('--store', spec);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--store <type:target>' argument '${spec}' is invalid`);
      expect(r.stderr).not.toMatch(/unexpected/);
      expect(requests).toBe(0);
    });
  }

  it('valid specs of every type parse', () => {
    expect(parseStoreSpec('aws:us-gov-west-1')).toMatchObject({ type: 'aws', region: 'us-gov-west-1' });
    expect(parseStoreSpec('ssm:eu-west-1/demo/dev')).toMatchObject({
      region: 'eu-west-1',
      path: '/demo/dev',
    });
    expect(parseStoreSpec('gcp:acme-prod/europe-west4')).toMatchObject({ location: 'europe-west4' });
    expect(parseStoreSpec('gcp:123456789')).toMatchObject({ projectId: '123456789' });
    expect(parseStoreSpec('gcp-pm:acme-prod/global')).toMatchObject({ location: 'global' });
    expect(parseStoreSpec('azure:my-vault')).toMatchObject({ vaultUrl: 'https://my-vault.vault.azure.net/' });
    expect(parseStoreSpec('azure:https://127.0.0.1:8443/')).toMatchObject({
      vaultUrl: 'https://127.0.0.1:8443/',
    });
    expect(parseStoreSpec('appconfig:https://store.azconfig.io')).toMatchObject({ type: 'appconfig' });
    expect(parseStoreSpec('k8s:team-a/app.secrets')).toMatchObject({
      namespace: 'team-a',
      name: 'app.secrets',
    });
    expect(parseStoreSpec('local:./out')).toMatchObject({ dir: './out' });
  });

  it('--config-store foo:bar is reported as --config-store', async () => {
    requests = 0;
    const r = await sync('--store', `local:${path.join(work, 'cfg')}`, '--config-store', 'foo:bar');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--config-store <type:target>' argument 'foo:bar' is invalid`);
    expect(r.stderr).not.toMatch(/--store foo:bar/);
    expect(requests).toBe(0);
  });
});

describe('conflict hint', () => {
  it('an unmanaged entry tells a CLI user to pass --adopt (and --adopt takes it over)', () => {
    const repo = path.join(work, 'conflict-repo');
    const store = path.join(work, 'conflict-store');
    const profile = (svc: string) => path.join(repo, svc, 'deployment-configuration/profiles/dev');
    mkdirSync(profile('svc'), { recursive: true });
    writeFileSync(path.join(profile('svc'), 'application.properties'), 'a=1\n');
    const sync = (...extra: string[]) =>
      msmctl(['sync', repo, '--env', 'dev', '--store', `local:${store}`, '-o', 'json', ...extra]);
    expect(sync().status).toBe(0);

    // A file made by hand in the store, then a service whose entry has that name.
    writeFileSync(path.join(store, 'other-properties'), 'hand-made');
    mkdirSync(profile('other'), { recursive: true });
    writeFileSync(path.join(profile('other'), 'application.properties'), 'b=2\n');
    const r = sync();
    const conflict = (
      JSON.parse(r.stdout) as { entries: { name: string; action: string; message: string | null }[] }
    ).entries.find((e) => e.name === 'other-properties');
    expect(conflict?.action).toBe('conflict');
    expect(conflict?.message).toMatch(/--adopt/);
    expect(conflict?.message).not.toMatch(/annotat/);
    expect(readFileSync(path.join(store, 'other-properties'), 'utf8')).toBe('hand-made');

    const adopted = sync('--adopt');
    expect(adopted.status, adopted.stderr).toBe(0);
    expect(readFileSync(path.join(store, 'other-properties'), 'utf8')).toContain('b');
  });
});
