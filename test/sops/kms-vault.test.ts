/**
 * SOPS files whose data key is wrapped by HashiCorp Vault transit (docs/sops.md "Key services"),
 * decrypted in-process through Vault's HTTP API against the labelled fake
 * (test/peers/fakes/vault-transit.ts; the Vault server does not build here, docs/testing.md). The
 * files are made by the real `sops` through the fake, and `sops -d` through it is the reference.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/sops/index.js';
import { type KmsCall, KmsKeys, KmsRuntime } from '../../src/sops/kms/index.js';
import { type VaultTransitFake, startVaultTransitFake } from '../peers/fakes/vault-transit.js';
import { decryptWith as decrypt, failure } from './kms-helpers.js';
import { childEnv, peerPath } from './helpers.js';

const run = promisify(execFile);
const CANARY = `canary-${Math.random().toString(36).slice(2, 12)}`;
let vault: VaultTransitFake;
let dir: string;
let admin: string;
let n = 0;

beforeAll(async () => {
  vault = await startVaultTransitFake();
  vault.createKey('sops', 'app');
  vault.createKey('sops', 'other');
  admin = vault.token(['sops/encrypt/app', 'sops/decrypt/app', 'sops/encrypt/other', 'sops/decrypt/other']);
  dir = await mkdtemp(join(tmpdir(), 'smc-vault-'));
});
afterAll(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function sops(args: string[], input: string, ext: string): Promise<Buffer> {
  const file = join(dir, `f${++n}.${ext}`);
  await writeFile(file, input);
  const env = childEnv({ VAULT_TOKEN: admin, VAULT_ADDR: vault.address });
  return (await run(peerPath('sops'), [...args, file], { env, encoding: 'buffer' })).stdout;
}
const encrypt = (plain: string, ext: string, key = 'app') =>
  sops(['-e', '--hc-vault-transit', `${vault.address}/v1/sops/keys/${key}`], plain, ext);

function keyring(token: string | undefined, runtime = new KmsRuntime(), calls: KmsCall[] = []) {
  runtime.onCall = (c) => calls.push(c);
  const kms = new KmsKeys({
    ...(token
      ? { credentials: { vaultToken: token }, sources: { hc_vault: 'Secret t/keys key sops.vault-token' } }
      : {}),
    ambient: false,
    runtime,
  });
  return createKeyring({ kms });
}

describe('Vault transit key groups made by the real sops (through the fake)', () => {
  it('decrypt byte-identically to sops -d with a token allowed only transit/decrypt/<key>; an unchanged file is not sent again', async () => {
    const calls: KmsCall[] = [];
    const ring = await keyring(vault.token(['sops/decrypt/app']), new KmsRuntime(), calls);
    for (const [ext, plain] of [
      ['yaml', `token: ${CANARY}\nlist: [a, b]\n`],
      ['json', `{"token": "${CANARY}"}\n`],
      ['ini', `[s]\ntoken = ${CANARY}\n`],
    ] as const) {
      const enc = await encrypt(plain, ext);
      expect(enc.toString()).toContain('hc_vault');
      const reference = await sops(['-d'], enc.toString(), ext);
      const before = vault.decryptCalls();
      expect((await decrypt(enc, `s.${ext}`, ring)).equals(reference)).toBe(true);
      expect((await decrypt(enc, `s.${ext}`, ring)).equals(reference)).toBe(true);
      expect(vault.decryptCalls() - before).toBe(1);
    }
    expect(calls.map((c) => `${c.service}:${c.result}`)).toEqual([
      'hc_vault:ok',
      'hc_vault:ok',
      'hc_vault:ok',
    ]);
  });

  it('a token whose policy lacks the key → SopsKmsFailed naming the key path, Vault and HTTP 403; never the token', async () => {
    const enc = await encrypt(`token: ${CANARY}\n`, 'yaml', 'other');
    const token = vault.token(['sops/decrypt/app']);
    const e = await failure(decrypt(enc, 'denied.yaml', await keyring(token)));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(
      `denied.yaml: no key service opened the data key: HashiCorp Vault transit key ${vault.address}/v1/sops/keys/other: auth_failed: vault transit decrypt "${vault.address}/v1/sops/keys/other" failed: HTTP 403`,
    );
    expect(e.message).not.toContain(token);
    expect(e.message).not.toContain(CANARY);
  });

  it('no token and workload identity not allowed → SopsNoMatchingKey naming sops.vault-token; no call', async () => {
    const enc = await encrypt(`token: ${CANARY}\n`, 'yaml');
    const before = vault.requests.length;
    const e = await failure(decrypt(enc, 'none.yaml', await keyring(undefined)));
    expect(e.code).toBe('SopsNoMatchingKey');
    expect(e.message).toContain(
      'no_credentials: no credentials for HashiCorp Vault transit: no sops.vault-token given',
    );
    expect(vault.requests.length).toBe(before);
  });
});
