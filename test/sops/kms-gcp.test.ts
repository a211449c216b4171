/**
 * SOPS files whose data key is wrapped by GCP KMS (docs/sops.md "Key services"), decrypted
 * in-process through `@google-cloud/kms` against the labelled fake (test/peers/fakes/gcp-kms.ts,
 * REST over plain HTTP). The files are made by the real `sops` through the same fake, and `sops -d`
 * through it is the reference: byte-identical output.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/sops/index.js';
import { type KmsCall, KmsKeys, KmsRuntime } from '../../src/sops/kms/index.js';
import { type GcpKmsFake, startGcpKmsFake } from '../peers/fakes/gcp-kms.js';
import { decryptWith as decrypt, failure } from './kms-helpers.js';
import { childEnv, peerPath } from './helpers.js';

const run = promisify(execFile);
const CANARY = `canary-${Math.random().toString(36).slice(2, 12)}`;
let fake: GcpKmsFake;
let dir: string;
let key: string;
let n = 0;

beforeAll(async () => {
  fake = await startGcpKmsFake();
  key = fake.createKey('projects/p1/locations/global/keyRings/sops/cryptoKeys/k1');
  dir = await mkdtemp(join(tmpdir(), 'smc-gcp-kms-'));
});
afterAll(async () => {
  await fake?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The real sops, talking to the fake with its own REST client (the event loop stays free). */
async function sops(args: string[], input: string, ext: string): Promise<Buffer> {
  const file = join(dir, `f${++n}.${ext}`);
  await writeFile(file, input);
  const env = childEnv({
    SOPS_GCP_KMS_CLIENT_TYPE: 'rest',
    SOPS_GCP_KMS_ENDPOINT: fake.endpoint,
    GOOGLE_OAUTH_ACCESS_TOKEN: 'fake-token',
  });
  const out = await run(peerPath('sops'), [...args, file], { env, encoding: 'buffer' });
  return out.stdout;
}

function keyring(runtime = new KmsRuntime(), calls: KmsCall[] = []) {
  runtime.onCall = (c) => calls.push(c);
  const kms = new KmsKeys({
    credentials: { gcp: { type: 'service_account' } },
    sources: { gcp_kms: 'Secret t/keys key sops.gcp-kms' },
    ambient: false,
    endpoints: { gcpKms: fake.endpoint },
    runtime,
  });
  return createKeyring({ kms });
}

describe('GCP KMS key groups made by the real sops (through the fake)', () => {
  it('decrypt byte-identically to sops -d; an unchanged file is not sent again', async () => {
    const calls: KmsCall[] = [];
    const ring = await keyring(new KmsRuntime(), calls);
    for (const [ext, plain] of [
      ['yaml', `token: ${CANARY}\nlist: [1, 2]\n`],
      ['json', `{"token": "${CANARY}"}\n`],
      ['env', `TOKEN=${CANARY}\n`],
    ] as const) {
      const enc = await sops(['-e', '--gcp-kms', key], plain, ext);
      expect(enc.toString()).toContain('gcp_kms');
      const reference = await sops(['-d'], enc.toString(), ext);
      const before = fake.decryptCalls();
      expect((await decrypt(enc, `s.${ext}`, ring)).equals(reference)).toBe(true);
      expect((await decrypt(enc, `s.${ext}`, ring)).equals(reference)).toBe(true);
      expect(fake.decryptCalls() - before).toBe(1);
    }
    expect(calls.map((c) => `${c.service}:${c.result}`)).toEqual(['gcp_kms:ok', 'gcp_kms:ok', 'gcp_kms:ok']);
  });

  it('a denied key → SopsKmsFailed naming the key, GCP KMS and PERMISSION_DENIED; an unknown key → not_found', async () => {
    const denied = fake.createKey('projects/p1/locations/global/keyRings/sops/cryptoKeys/denied');
    const enc = await sops(['-e', '--gcp-kms', denied], `token: ${CANARY}\n`, 'yaml');
    fake.deny(denied);
    const e = await failure(decrypt(enc, 'denied.yaml', await keyring()));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(
      `denied.yaml: no key service opened the data key: GCP KMS key ${denied}: auth_failed: gcp kms Decrypt on "${denied}" failed: PERMISSION_DENIED`,
    );
    expect(e.message).not.toContain(CANARY);

    const gone = Buffer.from(
      enc.toString().replaceAll(denied, 'projects/p1/locations/global/keyRings/sops/cryptoKeys/missing'),
    );
    const m = await failure(decrypt(gone, 'missing.yaml', await keyring()));
    expect(m.message).toContain('cryptoKeys/missing: not_found: gcp kms Decrypt');
  });

  it('no credentials and workload identity not allowed → SopsNoMatchingKey naming sops.gcp-kms; no call', async () => {
    const enc = await sops(['-e', '--gcp-kms', key], `token: ${CANARY}\n`, 'yaml');
    const before = fake.requests.length;
    const kms = new KmsKeys({
      ambient: false,
      endpoints: { gcpKms: fake.endpoint },
      runtime: new KmsRuntime(),
    });
    const e = await failure(decrypt(enc, 'none.yaml', await createKeyring({ kms })));
    expect(e.code).toBe('SopsNoMatchingKey');
    expect(e.message).toContain(
      `GCP KMS key ${key}: no_credentials: no credentials for GCP KMS: no sops.gcp-kms given`,
    );
    expect(fake.requests.length).toBe(before);
  });
});
