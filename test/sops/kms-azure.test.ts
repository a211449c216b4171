/**
 * SOPS files whose data key is wrapped by Azure Key Vault (docs/sops.md "Key services"), decrypted
 * in-process through `@azure/keyvault-keys` against the labelled fake
 * (test/peers/fakes/azure-keyvault-keys.ts). The real sops cannot be pointed at the fake (see its
 * header), so the vectors are files made by the real `sops` for an age key whose data key is then
 * re-wrapped, as sops does (RSA-OAEP-256, base64url), for the fake's key, the `age` entry replaced by
 * the `azure_kv` entry sops writes: `sops -d` of the original is the reference (values and MAC are
 * untouched, so the output must be byte-identical).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { ageDecrypt, parseAgeIdentities } from '../../src/sops/age.js';
import { createKeyring } from '../../src/sops/index.js';
import { type KmsCall, KmsKeys, KmsRuntime } from '../../src/sops/kms/index.js';
import { staticTokenCredential } from '../../src/stores/azure/index.js';
import { type AzureKeysFake, startAzureKeysFake } from '../peers/fakes/azure-keyvault-keys.js';
import { decryptWith as decrypt, failure } from './kms-helpers.js';
import { childEnv, peerPath } from './helpers.js';

const run = promisify(execFile);
const CANARY = `canary-${Math.random().toString(36).slice(2, 12)}`;
const ENV = ['SMC_AZURE_KEYVAULT_CA_FILE', 'SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION'];
const saved: Record<string, string | undefined> = {};
let fake: AzureKeysFake;
let dir: string;
let identity: string;
let version: string;
let n = 0;

beforeAll(async () => {
  fake = await startAzureKeysFake();
  version = fake.createKey('sops-key');
  dir = await mkdtemp(join(tmpdir(), 'smc-azure-kv-'));
  identity = await generateX25519Identity();
  for (const k of ENV) saved[k] = process.env[k];
  process.env['SMC_AZURE_KEYVAULT_CA_FILE'] = fake.certFile;
  process.env['SMC_AZURE_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION'] = 'true';
});
afterAll(async () => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await fake?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function sops(args: string[], input: string, ext: string): Promise<Buffer> {
  const file = join(dir, `f${++n}.${ext}`);
  await writeFile(file, input);
  const env = childEnv({ SOPS_AGE_KEY: identity });
  return (await run(peerPath('sops'), [...args, file], { env, encoding: 'buffer' })).stdout;
}

/** A real sops file (age), its data key re-wrapped for the fake's key as sops' azure_kv entry. */
async function vector(plain: string, ext: 'yaml' | 'json', name = 'sops-key', ver = version) {
  const ageFile = (await sops(['-e', '--age', await identityToRecipient(identity)], plain, ext)).toString();
  const reference = await sops(['-d'], ageFile, ext);
  const set = (enc: string) => ({
    vault_url: fake.vaultUrl,
    name,
    version: ver,
    created_at: '2026-01-01T00:00:00Z',
    enc,
  });
  if (ext === 'json') {
    const doc = JSON.parse(ageFile) as { sops: Record<string, unknown> };
    const age = (doc.sops['age'] as { enc: string }[])[0]!.enc;
    const key = await ageDecrypt(age, await parseAgeIdentities(identity, 'test'));
    delete doc.sops['age'];
    doc.sops['azure_kv'] = [set(fake.wrap('sops-key', version, key))];
    return { file: Buffer.from(JSON.stringify(doc, null, 4)), reference };
  }
  const doc = parseDocument(ageFile);
  const age = String(doc.getIn(['sops', 'age', 0, 'enc']));
  const key = await ageDecrypt(age, await parseAgeIdentities(identity, 'test'));
  doc.deleteIn(['sops', 'age']);
  doc.setIn(['sops', 'azure_kv'], [set(fake.wrap('sops-key', version, key))]);
  return { file: Buffer.from(doc.toString()), reference };
}

function keyring(runtime = new KmsRuntime(), calls: KmsCall[] = []) {
  runtime.onCall = (c) => calls.push(c);
  return createKeyring({
    kms: new KmsKeys({ azureTokenCredential: staticTokenCredential(), ambient: false, runtime }),
  });
}

describe('Azure Key Vault key groups (through the fake)', () => {
  it('decrypt byte-identically to sops -d (YAML and JSON); an unchanged file is not sent again', async () => {
    const calls: KmsCall[] = [];
    const ring = await keyring(new KmsRuntime(), calls);
    for (const [ext, plain] of [
      ['yaml', `token: ${CANARY}\nnested: {a: 1, b: [x, y]}\n`],
      ['json', `{"token": "${CANARY}", "n": 2.5}\n`],
    ] as const) {
      const { file, reference } = await vector(plain, ext);
      expect(file.toString()).toContain('azure_kv');
      expect(file.toString()).not.toContain('age1');
      const before = fake.decryptCalls();
      expect((await decrypt(file, `s.${ext}`, ring)).equals(reference)).toBe(true);
      expect((await decrypt(file, `s.${ext}`, ring)).equals(reference)).toBe(true);
      expect(fake.decryptCalls() - before).toBe(1);
    }
    expect(calls.map((c) => `${c.service}:${c.result}`)).toEqual(['azure_kv:ok', 'azure_kv:ok']);
  });

  it('a key the identity may not use → SopsKmsFailed naming the key, Azure Key Vault and HTTP 403; an unknown version → not_found', async () => {
    const v2 = fake.createKey('denied-key');
    const { file } = await vector(`token: ${CANARY}\n`, 'yaml');
    const denied = Buffer.from(
      file
        .toString()
        .replace('name: sops-key', 'name: denied-key')
        .replace(`version: ${version}`, `version: ${v2}`),
    );
    fake.deny('denied-key');
    const e = await failure(decrypt(denied, 'denied.yaml', await keyring()));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(
      `denied.yaml: no key service opened the data key: Azure Key Vault key ${fake.vaultUrl}/keys/denied-key/${v2}: auth_failed: azure keyvault decrypt`,
    );
    expect(e.message).toContain('HTTP 403 Forbidden');
    expect(e.message).not.toContain(CANARY);

    const gone = Buffer.from(file.toString().replace(`version: ${version}`, `version: ${'0'.repeat(32)}`));
    const m = await failure(decrypt(gone, 'gone.yaml', await keyring()));
    expect(m.message).toContain(': not_found: azure keyvault decrypt');
  });

  it('no credentials and workload identity not allowed → SopsNoMatchingKey naming sops.azure-kv; no call', async () => {
    const { file } = await vector(`token: ${CANARY}\n`, 'yaml');
    const before = fake.requests.length;
    const kms = new KmsKeys({ ambient: false, runtime: new KmsRuntime() });
    const e = await failure(decrypt(file, 'none.yaml', await createKeyring({ kms })));
    expect(e.code).toBe('SopsNoMatchingKey');
    expect(e.message).toContain('no_credentials: no credentials for Azure Key Vault: no sops.azure-kv given');
    expect(fake.requests.length).toBe(before);
  });
});
