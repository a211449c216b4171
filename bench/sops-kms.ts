/**
 * SOPS files wrapped by AWS KMS (docs/sops.md "Key services"): 50 small files made by the real sops
 * against moto (IAM authentication on), decrypted with one `sops -d` per file, then in-process twice
 * (cold: one KMS call per file, 8 in flight; warm: the data-key cache, no call). KMS calls are
 * counted at the wire. Run: `npm run bench:sops-kms`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKeyring, decryptSops } from '../src/sops/index.js';
import { KmsKeys, KmsRuntime } from '../src/sops/kms/index.js';
import { peerPath } from '../test/peers.js';
import { startKmsMoto } from '../test/sops/kms-moto.js';

const run = promisify(execFile);
const N = 50;
const aws = await startKmsMoto();
const dir = mkdtempSync(join(tmpdir(), 'smc-bench-kms-'));
try {
  const arn = await aws.createKey();
  const files = Array.from({ length: N }, (_, i) => aws.encrypt(`k${i}: v${i}\n`, 'yaml', { arn }));
  files.forEach((f, i) => writeFileSync(join(dir, `f${i}.yaml`), f));
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: aws.moto.endpointUrl,
    AWS_REGION: aws.moto.region,
    AWS_ACCESS_KEY_ID: aws.decryptor.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.decryptor.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const sops = peerPath('sops');
  let t = performance.now();
  const reference: string[] = [];
  for (let i = 0; i < N; i++)
    reference.push((await run(sops, ['-d', join(dir, `f${i}.yaml`)], { env })).stdout);
  const sopsMs = performance.now() - t;
  const kms = new KmsKeys({
    credentials: { aws: aws.decryptor },
    sources: { aws_kms: 'bench' },
    ambient: false,
    endpoints: { awsKms: aws.proxy.url },
    runtime: new KmsRuntime(),
  });
  const ring = await createKeyring({ kms });
  const all = () =>
    Promise.all(
      files.map((f, i) => decryptSops(f, { format: 'yaml', keyring: ring, fileName: `f${i}.yaml` })),
    );
  aws.proxy.reset();
  t = performance.now();
  const out = await all();
  const coldMs = performance.now() - t;
  const coldCalls = aws.decryptCalls();
  aws.proxy.reset();
  t = performance.now();
  await all();
  const warmMs = performance.now() - t;
  const same = out.every((b, i) => Buffer.from(b).toString() === reference[i]);
  console.log(
    `${N} AWS KMS files: sops -d per file ${Math.round(sopsMs)} ms; in-process cold ${Math.round(coldMs)} ms ` +
      `(${coldCalls} KMS calls); warm ${Math.round(warmMs)} ms (${aws.decryptCalls()} KMS calls); outputs identical: ${same}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
  await aws.stop();
}
