/**
 * SOPS files whose data key is wrapped by AWS KMS (docs/sops.md "Key services"), made by the real
 * `sops` against moto with IAM authentication on, decrypted in-process through the official client:
 * byte-identical to `sops -d`; the encryption context and the role sops recorded are honoured; an
 * unchanged file costs no KMS call (counted at the wire, in front of moto); failures name the key,
 * the service and the reason, never a value.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/sops/index.js';
import { type KmsCall, KmsKeys, KmsRuntime } from '../../src/sops/kms/index.js';
import { msmctlAsync } from '../cli/run.js';
import type { AwsKeys, KmsMoto } from './kms-moto.js';
import { startKmsMoto } from './kms-moto.js';
import { decryptWith as decrypt, failure } from './kms-helpers.js';

let aws: KmsMoto;
let arn: string;
let otherArn: string;
const CANARY = `canary-${Math.random().toString(36).slice(2, 12)}`;

beforeAll(async () => {
  aws = await startKmsMoto();
  arn = await aws.createKey();
  otherArn = await aws.createKey();
}, 120_000);
afterAll(async () => {
  await aws?.stop();
});

/** A keyring with AWS credentials from "the Secret", calls going through the counting proxy. */
function keyring(creds: AwsKeys | undefined, runtime = new KmsRuntime(), calls: KmsCall[] = []) {
  runtime.onCall = (c) => calls.push(c);
  const kms = new KmsKeys({
    ...(creds ? { credentials: { aws: creds }, sources: { aws_kms: 'Secret t/keys key sops.aws-kms' } } : {}),
    ambient: false,
    ambientRefusal:
      'workload identity is not allowed for namespace t (setting sops_workload_identity_namespaces)',
    endpoints: { awsKms: aws.proxy.url, awsSts: aws.proxy.url },
    runtime,
  });
  return createKeyring({ kms });
}

const PLAIN: Record<string, string> = {
  yaml: `token: ${CANARY}\nnested:\n  list: [1, two, 3.5]\n  flag: true\n`,
  json: `{"token": "${CANARY}", "n": 1, "list": ["a", {"b": null}]}\n`,
  env: `TOKEN=${CANARY}\nOTHER=x=y\n`,
  ini: `[section]\ntoken = ${CANARY}\n`,
  bin: `${CANARY}\u0000binary\n`,
};

describe('AWS KMS key groups made by the real sops', () => {
  it('decrypt byte-identically to sops -d in every format, with the encryption context sops recorded', async () => {
    const ring = await keyring(aws.decryptor);
    for (const [ext, plain] of Object.entries(PLAIN)) {
      const enc = aws.encrypt(plain, ext, { arn, context: 'team:payments,env:dev' });
      expect(enc).toContain('context');
      const name = `secrets.${ext}`;
      const ours = await decrypt(enc, name, ring);
      expect(ours.equals(aws.sopsDecrypt(enc, ext))).toBe(true);
      expect(ours.toString('utf8')).toContain(CANARY);
    }
  });

  it('assume the role sops recorded (STS AssumeRole) before calling KMS', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn, role: aws.roleArn });
    expect(enc).toContain(`role: ${aws.roleArn}`);
    aws.proxy.reset();
    const ours = await decrypt(enc, 'role.yaml', await keyring(aws.decryptor));
    expect(ours.equals(aws.sopsDecrypt(enc, 'yaml'))).toBe(true);
    expect(aws.proxy.count('AssumeRole')).toBe(1);
    // The Decrypt call is signed with the role session's keys, not the decryptor's.
    const dec = aws.proxy.requests.filter((r) => r.target.endsWith('.Decrypt'));
    expect(dec).toHaveLength(1);
    expect(dec[0]!.accessKeyId).not.toBe(aws.decryptor.accessKeyId);
  });

  it('a file whose encryption context was changed is refused by KMS: SopsKmsFailed naming key, service and reason', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn, context: 'team:payments' });
    const tampered = enc.replace('team: payments', 'team: other');
    expect(tampered).not.toBe(enc);
    const e = await failure(decrypt(tampered, 'ctx.yaml', await keyring(aws.decryptor)));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(`ctx.yaml: no key service opened the data key: AWS KMS key ${arn}: invalid`);
    expect(e.message).toContain('InvalidCiphertextException');
    expect(e.message).not.toContain(CANARY);
  });
});

describe('msmctl decrypt', () => {
  it('with the SDK default chain (env keys) and --aws-kms-endpoint/--aws-sts-endpoint prints exactly what sops -d prints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smc-kms-cli-'));
    try {
      const enc = aws.encrypt(PLAIN.json!, 'json', { arn, role: aws.roleArn, context: 'app:cli' });
      const file = join(dir, 'secrets.json');
      await writeFile(file, enc);
      aws.proxy.reset();
      const r = await msmctlAsync(
        ['decrypt', file, '--aws-kms-endpoint', aws.proxy.url, '--aws-sts-endpoint', aws.proxy.url],
        {
          env: {
            AWS_ACCESS_KEY_ID: aws.decryptor.accessKeyId,
            AWS_SECRET_ACCESS_KEY: aws.decryptor.secretAccessKey,
            AWS_EC2_METADATA_DISABLED: 'true',
            AWS_ENDPOINT_URL: '',
            AWS_PROFILE: '',
            SOPS_AGE_KEY_FILE: '',
            SOPS_AGE_KEY: '',
          },
        },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(Buffer.from(r.stdout).equals(aws.sopsDecrypt(enc, 'json'))).toBe(true);
      expect(aws.proxy.count('AssumeRole')).toBe(1);
      expect(aws.decryptCalls()).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('credentials', () => {
  it('wrong access keys → auth_failed naming the key and AWS KMS; nothing decrypted, no secret in the message', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn });
    const wrong = { accessKeyId: 'AKIAWRONGWRONGWRONG1', secretAccessKey: 'wrong-secret-canary' };
    const e = await failure(decrypt(enc, 'wrong.yaml', await keyring(wrong)));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(`AWS KMS key ${arn}: auth_failed: aws kms Decrypt "${arn}" failed`);
    expect(e.message).not.toContain('wrong-secret-canary');
    expect(e.message).not.toContain(CANARY);
  });

  it('a principal without kms:Decrypt → auth_failed (HTTP 403)', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn });
    const e = await failure(decrypt(enc, 'denied.yaml', await keyring(aws.nothing)));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toMatch(/auth_failed: aws kms Decrypt .* failed: .*HTTP 403/);
  });

  it('a principal that may not assume the recorded role → auth_failed naming the role; KMS is never called', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn, role: aws.roleArn });
    aws.proxy.reset();
    const e = await failure(decrypt(enc, 'norole.yaml', await keyring(aws.nothing)));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(
      `AWS KMS key ${arn} (role ${aws.roleArn}): auth_failed: aws sts AssumeRole "${aws.roleArn}" failed: could not assume the role`,
    );
    expect(aws.decryptCalls()).toBe(0);
  });

  it('no credentials and workload identity not allowed → SopsNoMatchingKey naming the Secret key to add and the setting; no call made', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn });
    aws.proxy.reset();
    const e = await failure(decrypt(enc, 'none.yaml', await keyring(undefined)));
    expect(e.code).toBe('SopsNoMatchingKey');
    expect(e.message).toContain(
      `AWS KMS key ${arn}: no_credentials: no credentials for AWS KMS: no sops.aws-kms given and workload identity is not allowed for namespace t`,
    );
    expect(aws.proxy.requests).toHaveLength(0);
  });

  it('several keys in a group: the one whose credentials fail is reported, the next one opens the file', async () => {
    // sops encrypts the data key to both ARNs; the first fails for the `nothing` principal only.
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn: `${otherArn},${arn}` });
    expect(enc.indexOf(otherArn)).toBeLessThan(enc.indexOf(`arn: ${arn}`));
    const ring = await keyring(aws.decryptor);
    const ours = await decrypt(enc, 'two.yaml', ring);
    expect(ours.equals(aws.sopsDecrypt(enc, 'yaml'))).toBe(true);
  });
});

describe('order and failures with several keys', () => {
  it('a local key opens the file before any key service is asked', async () => {
    const identity = await generateX25519Identity();
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn, age: await identityToRecipient(identity) });
    aws.proxy.reset();
    const kms = new KmsKeys({
      credentials: { aws: aws.decryptor },
      ambient: false,
      endpoints: { awsKms: aws.proxy.url },
    });
    const ring = await createKeyring({ age: [identity], kms });
    const ours = await decrypt(enc, 'local-first.yaml', ring);
    expect(ours.equals(aws.sopsDecrypt(enc, 'yaml'))).toBe(true);
    expect(aws.proxy.requests).toHaveLength(0);
  });

  it('nothing opens: the error names every key tried, its service and why', async () => {
    const recipient = await identityToRecipient(await generateX25519Identity());
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn: `${otherArn},${arn}`, age: recipient });
    const other = await generateX25519Identity();
    const kms = new KmsKeys({
      credentials: { aws: aws.nothing },
      sources: { aws_kms: 'Secret t/keys key sops.aws-kms' },
      ambient: false,
      endpoints: { awsKms: aws.proxy.url },
      runtime: new KmsRuntime({ retryPolicy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }),
    });
    const e = await failure(decrypt(enc, 'none-open.yaml', await createKeyring({ age: [other], kms })));
    expect(e.code).toBe('SopsKmsFailed');
    expect(e.message).toContain(`AWS KMS key ${otherArn}: auth_failed`);
    expect(e.message).toContain(`AWS KMS key ${arn}: auth_failed`);
    expect(e.message).toContain(`the file is also encrypted for age recipient ${recipient}`);
    expect(e.message).not.toContain(CANARY);
  });
});

describe('cost: opened data keys are cached in memory', () => {
  it('a second decryption of an unchanged file makes zero KMS calls; one of 50 files changed makes one', async () => {
    const files = Array.from({ length: 50 }, (_, i) =>
      aws.encrypt(`k${i}: v${i}-${CANARY}\n`, 'yaml', { arn }),
    );
    const runtime = new KmsRuntime();
    const calls: KmsCall[] = [];
    const ring = await keyring(aws.decryptor, runtime, calls);
    aws.proxy.reset();
    await Promise.all(files.map((f, i) => decrypt(f, `f${i}.yaml`, ring)));
    expect(aws.decryptCalls()).toBe(50);
    expect(calls).toHaveLength(50);
    expect(calls.every((c) => c.service === 'aws_kms' && c.result === 'ok')).toBe(true);

    aws.proxy.reset();
    await Promise.all(files.map((f, i) => decrypt(f, `f${i}.yaml`, ring)));
    expect(aws.decryptCalls()).toBe(0);

    files[7] = aws.encrypt(`k7: changed-${CANARY}\n`, 'yaml', { arn });
    aws.proxy.reset();
    const out = await Promise.all(files.map((f, i) => decrypt(f, `f${i}.yaml`, ring)));
    expect(aws.decryptCalls()).toBe(1);
    expect(out[7]!.toString()).toBe(`k7: changed-${CANARY}\n`);
  });

  it('the cache is per credentials: another Secret’s keyring does not reuse a key this one opened', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn });
    const runtime = new KmsRuntime();
    await decrypt(enc, 'a.yaml', await keyring(aws.decryptor, runtime));
    aws.proxy.reset();
    // Same process cache, different credentials (another SMC's Secret): KMS decides again.
    const e = await failure(decrypt(enc, 'a.yaml', await keyring(aws.nothing, runtime)));
    expect(e.code).toBe('SopsKmsFailed');
    expect(aws.decryptCalls()).toBe(1);
  });

  it('files holding the same wrapped key, opened at once, share one call', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn });
    const ring = await keyring(aws.decryptor);
    aws.proxy.reset();
    const out = await Promise.all([1, 2, 3, 4].map((i) => decrypt(enc, `same${i}.yaml`, ring)));
    expect(new Set(out.map((b) => b.toString('hex'))).size).toBe(1);
    expect(aws.decryptCalls()).toBe(1);
  });

  it('throttling is retried with the store layer’s policy, and every request is counted by result', async () => {
    const enc = aws.encrypt(PLAIN.yaml!, 'yaml', { arn });
    const runtime = new KmsRuntime({ retryPolicy: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 } });
    const calls: KmsCall[] = [];
    const ring = await keyring(aws.decryptor, runtime, calls);
    aws.proxy.reset();
    aws.proxy.inject({
      match: 'Decrypt',
      times: 2,
      fault: { kind: 'respond', status: 400, errorType: 'ThrottlingException' },
    });
    const ours = await decrypt(enc, 'throttled.yaml', ring);
    expect(ours.equals(aws.sopsDecrypt(enc, 'yaml'))).toBe(true);
    expect(aws.decryptCalls()).toBe(3);
    expect(calls.map((c) => c.result)).toEqual(['throttled', 'throttled', 'ok']);
  });
});
