/**
 * Throw-away PKI for one test cluster, made with openssl (3.x: `req -x509 -CA` signs in one step):
 * a CA, the apiserver serving certificate (127.0.0.1 and localhost), an admin client certificate
 * in group system:masters, and the ServiceAccount token signing key pair.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
  caPem: string;
  adminCertPem: string;
  adminKeyPem: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const DAYS = ['-days', '3650'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `openssl ${args[0]} failed while generating the test cluster PKI: ${e.stderr || e.message}`,
      {
        cause: err,
      },
    );
  }
}

export async function generatePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  await openssl([
    'req',
    '-x509',
    ...EC,
    ...DAYS,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-subj',
    '/CN=smc-test-ca',
  ]);
  const leaf = (name: string, subj: string, ext: string[]) =>
    openssl([
      'req',
      '-x509',
      ...EC,
      ...DAYS,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-subj',
      subj,
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  await Promise.all([
    leaf('apiserver', '/CN=kube-apiserver', [
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1',
    ]),
    leaf('admin', '/O=system:masters/CN=smc-test-admin', ['extendedKeyUsage=clientAuth']),
    (async () => {
      await openssl(['genrsa', '-out', p('sa.key'), '2048']);
      await openssl(['rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
    })(),
  ]);
  const [caPem, adminCertPem, adminKeyPem] = await Promise.all(
    ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(p(f), 'utf8')),
  );
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
    caPem: caPem!,
    adminCertPem: adminCertPem!,
    adminKeyPem: adminKeyPem!,
  };
}
