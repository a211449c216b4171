/**
 * AWS KMS for SOPS tests: moto (the AWS peer) with IAM authentication ON, a counting fault proxy in
 * front of it (test/stores/fault-proxy.ts) that every in-process call goes through, and files
 * encrypted by the real `sops` binary against moto directly (so the proxy counts only our calls).
 *
 * Principals (created before authentication is switched on, via moto's own IAM API):
 * - `admin`: every action (creates keys, runs sops);
 * - `decryptor`: kms:Decrypt and sts:AssumeRole only;
 * - `nothing`: no permission at all;
 * - the role `sops-kms-role`, with kms:Decrypt, that `nothing` may not assume but `decryptor` may.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { type MotoPeer, startMoto } from '../peers/cloud/index.js';
import { FaultProxy } from '../stores/fault-proxy.js';
import { childEnv, peerPath } from './helpers.js';

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface KmsMoto {
  moto: MotoPeer;
  /** In-process calls go here (`endpoints: { awsKms: proxy.url, awsSts: proxy.url }`). */
  proxy: FaultProxy;
  admin: AwsKeys;
  decryptor: AwsKeys;
  nothing: AwsKeys;
  roleArn: string;
  createKey(): Promise<string>;
  /** The real sops encrypts `plain` (format from `ext`) to `arn`, with a context and a role. */
  encrypt(
    plain: string,
    ext: string,
    to: { arn: string; context?: string; role?: string; age?: string; groups?: boolean },
  ): string;
  /** What the real `sops -d` prints for `content`. */
  sopsDecrypt(content: string, ext: string): Buffer;
  /** `Decrypt` requests that reached the proxy. */
  decryptCalls(): number;
  stop(): Promise<void>;
}

async function iam(moto: MotoPeer, params: Record<string, string>): Promise<string> {
  const res = await fetch(moto.endpointUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams({ ...params, Version: '2010-05-08' }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto IAM ${params['Action']}: HTTP ${res.status}`);
  return text;
}

async function user(moto: MotoPeer, name: string, actions: string[]): Promise<AwsKeys> {
  await iam(moto, { Action: 'CreateUser', UserName: name });
  if (actions.length > 0) {
    const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] };
    await iam(moto, {
      Action: 'PutUserPolicy',
      UserName: name,
      PolicyName: 'p',
      PolicyDocument: JSON.stringify(doc),
    });
  }
  const xml = await iam(moto, { Action: 'CreateAccessKey', UserName: name });
  const id = /<AccessKeyId>([^<]+)</.exec(xml)?.[1];
  const secret = /<SecretAccessKey>([^<]+)</.exec(xml)?.[1];
  if (!id || !secret) throw new Error('moto IAM CreateAccessKey returned no key');
  return { accessKeyId: id, secretAccessKey: secret };
}

export async function startKmsMoto(): Promise<KmsMoto> {
  const moto = await startMoto();
  const proxy = await FaultProxy.start(moto.endpointUrl);
  const admin = await user(moto, 'admin', ['*']);
  const decryptor = await user(moto, 'decryptor', ['kms:Decrypt', 'sts:AssumeRole']);
  const nothing = await user(moto, 'nothing', []);
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: ['admin', 'decryptor'].map((u) => `arn:aws:iam::123456789012:user/${u}`) },
        Action: 'sts:AssumeRole',
      },
    ],
  };
  const roleXml = await iam(moto, {
    Action: 'CreateRole',
    RoleName: 'sops-kms-role',
    AssumeRolePolicyDocument: JSON.stringify(trust),
  });
  const roleArn = /<Arn>([^<]+)</.exec(roleXml)?.[1];
  if (!roleArn) throw new Error('moto IAM CreateRole returned no ARN');
  const kmsOnly = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: '*' },
    ],
  };
  await iam(moto, {
    Action: 'PutRolePolicy',
    RoleName: 'sops-kms-role',
    PolicyName: 'kms',
    PolicyDocument: JSON.stringify(kmsOnly),
  });
  // From now on every request must be signed by a known principal with the permission.
  const res = await fetch(`${moto.endpointUrl}/moto-api/reset-auth`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: '0',
  });
  if (!res.ok) throw new Error(`moto reset-auth: HTTP ${res.status}`);

  const kms = new KMSClient({ endpoint: moto.endpointUrl, region: moto.region, credentials: admin });
  const dir = mkdtempSync(join(tmpdir(), 'smc-kms-sops-'));
  const sops = peerPath('sops');
  const env = childEnv({
    AWS_ENDPOINT_URL: moto.endpointUrl,
    AWS_REGION: moto.region,
    AWS_ACCESS_KEY_ID: admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  delete env['AWS_PROFILE'];
  delete env['AWS_SESSION_TOKEN'];
  let n = 0;
  return {
    moto,
    proxy,
    admin,
    decryptor,
    nothing,
    roleArn,
    async createKey() {
      const out = await kms.send(new CreateKeyCommand({}));
      return out.KeyMetadata!.Arn!;
    },
    encrypt(plain, ext, to) {
      const file = join(dir, `plain-${++n}.${ext}`);
      writeFileSync(file, plain);
      const kmsArg = to.role ? `${to.arn}+${to.role}` : to.arn;
      return execFileSync(
        sops,
        [
          '-e',
          '--kms',
          kmsArg,
          ...(to.context ? ['--encryption-context', to.context] : []),
          ...(to.age ? ['--age', to.age] : []),
          file,
        ],
        { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    },
    sopsDecrypt(content, ext) {
      const file = join(dir, `enc-${++n}.${ext}`);
      writeFileSync(file, content);
      return execFileSync(sops, ['-d', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    decryptCalls: () => proxy.count('Decrypt'),
    async stop() {
      kms.destroy();
      rmSync(dir, { recursive: true, force: true });
      await proxy.stop();
      await moto.stop();
    },
  };
}
