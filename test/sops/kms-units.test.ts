/**
 * Units of the SOPS key services (src/sops/kms/): Flux-format credentials parsed without ever
 * quoting them, the data-key cache (bounded, aged, zeroed, copies only), the per-service limiter,
 * and the metadata sops writes for each service.
 */
import { describe, expect, it } from 'vitest';
import { SmcError } from '../../src/errors.js';
import { DataKeyCache } from '../../src/sops/kms/cache.js';
import { kmsCredentialsFrom } from '../../src/sops/kms/credentials.js';
import { Limiter } from '../../src/sops/kms/limiter.js';
import { decodeMetadata } from '../../src/sops/metadata.js';
import { Branch } from '../../src/sops/values.js';
import { parse } from 'yaml';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-canary';
const src = (k: string) => `Secret ns/keys key ${k}`;

function thrown(f: () => unknown): SmcError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SmcError);
    return e as SmcError;
  }
  throw new Error('did not throw');
}

describe('credentials under Flux’s key names', () => {
  it('sops.aws-kms (YAML), sops.gcp-kms (JSON), sops.azure-kv (YAML or JSON, three shapes), sops.vault-token', () => {
    const { credentials, sources } = kmsCredentialsFrom(
      {
        'sops.aws-kms': `aws_access_key_id: AKIAEXAMPLE\naws_secret_access_key: ${SECRET}\naws_session_token: tok\n`,
        'sops.gcp-kms': JSON.stringify({ type: 'service_account', client_email: 'a@b', private_key: SECRET }),
        'sops.azure-kv': JSON.stringify({ tenantId: 't', clientId: 'c', clientSecret: SECRET }),
        'sops.vault-token': ` hvs.${SECRET}\n`,
        'age.agekey': 'ignored here',
      },
      src,
    );
    expect(credentials.aws).toEqual({
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: SECRET,
      sessionToken: 'tok',
    });
    expect(credentials.gcp?.['type']).toBe('service_account');
    expect(credentials.azure).toEqual({ type: 'secret', tenantId: 't', clientId: 'c', clientSecret: SECRET });
    expect(credentials.vaultToken).toBe(`hvs.${SECRET}`);
    expect(sources).toEqual({
      aws_kms: src('sops.aws-kms'),
      gcp_kms: src('sops.gcp-kms'),
      azure_kv: src('sops.azure-kv'),
      hc_vault: src('sops.vault-token'),
    });
    const az = (text: string) => kmsCredentialsFrom({ 'sops.azure-kv': text }, src).credentials.azure;
    expect(az(`appId: a\ntenant: t\npassword: ${SECRET}\n`)).toEqual({
      type: 'secret',
      tenantId: 't',
      clientId: 'a',
      clientSecret: SECRET,
    });
    expect(az('clientId: mi\n')).toEqual({ type: 'managedIdentity', clientId: 'mi' });
    expect(
      az(`tenantId: t\nclientId: c\nclientCertificate: PEM\nauthorityHost: https://login.example\n`),
    ).toMatchObject({
      type: 'certificate',
      authorityHost: 'https://login.example',
    });
  });

  it('malformed credentials name the Secret and key and what is expected, never the content', () => {
    const cases: Record<string, string> = {
      'sops.aws-kms': `aws_access_key_id: AKIA\nsecret: ${SECRET}\n`,
      'sops.gcp-kms': `{"private_key": "${SECRET}"`,
      'sops.azure-kv': `clientSecret: ${SECRET}\n`,
      'sops.vault-token': `two ${SECRET}`,
    };
    for (const [k, v] of Object.entries(cases)) {
      const e = thrown(() => kmsCredentialsFrom({ [k]: v }, src));
      expect(e.code).toBe('ParseError');
      expect(e.message.startsWith(`${src(k)}: `)).toBe(true);
      expect(e.message).not.toContain(SECRET);
    }
    expect(thrown(() => kmsCredentialsFrom({ 'sops.aws-kms': `- ${SECRET}` }, src)).message).toContain(
      'expected a mapping with aws_access_key_id and aws_secret_access_key',
    );
  });
});

describe('the data-key cache', () => {
  it('hands out copies, is bounded (least recently used out first), ages keys out, zeroes what it drops', () => {
    let now = 0;
    const cache = new DataKeyCache({ maxEntries: 2, ttlMs: 1000, now: () => now });
    const a = Uint8Array.from([1, 2, 3]);
    cache.set('a', a);
    a.fill(9); // the caller zeroes its own copy: the cache keeps its own
    const got = cache.get('a')!;
    expect([...got]).toEqual([1, 2, 3]);
    got.fill(0);
    expect([...cache.get('a')!]).toEqual([1, 2, 3]);
    cache.set('b', Uint8Array.from([4]));
    cache.get('a'); // a is now the most recently used
    cache.set('c', Uint8Array.from([5]));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    now = 1001;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(JSON.stringify(cache)).toBe('{"entries":1}');
  });
});

describe('the per-service limiter', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const limiter = new Limiter(2);
    const tick = () => new Promise((r) => setImmediate(r));
    let active = 0;
    const waiting = new Map<number, () => void>();
    const runs = Array.from({ length: 6 }, (_, i) =>
      limiter.run(async () => {
        active++;
        await new Promise<void>((r) => waiting.set(i, r));
        active--;
        return i;
      }),
    );
    await tick();
    expect(active).toBe(2);
    expect([...waiting.keys()]).toEqual([0, 1]);
    for (let done = 0; done < 6; done++) {
      const [i, release] = waiting.entries().next().value!;
      waiting.delete(i);
      release();
      await tick();
      expect(active).toBe(Math.min(2, 5 - done));
    }
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('metadata of each key service, as sops writes it', () => {
  const meta = (y: string) => decodeMetadata(fromPlain(parse(y)) as Branch, 'f.yaml');
  it('keeps what each service needs: ARN, role, context, profile; resource id; vault URL, name, version; address, engine, key', () => {
    const m = meta(`
kms:
  - arn: arn:aws:kms:eu-west-1:123456789012:key/k
    role: arn:aws:iam::123456789012:role/r
    context: {team: x, n: 1}
    aws_profile: ""
    created_at: "2026-01-01T00:00:00Z"
    enc: QUJD
gcp_kms:
  - resource_id: projects/p/locations/l/keyRings/r/cryptoKeys/k
    enc: REVG
azure_kv:
  - vault_url: https://v.vault.azure.net/
    name: k
    version: "0123"
    enc: R0hJ
hc_vault:
  - vault_address: http://127.0.0.1:8200
    engine_path: sops
    key_name: k
    enc: vault:v1:abc
lastmodified: "2026-01-01T00:00:00Z"
mac: x
version: 3.13.2
`);
    expect(m.keyGroups[0]).toEqual([
      {
        type: 'aws_kms',
        id: 'arn:aws:kms:eu-west-1:123456789012:key/k',
        role: 'arn:aws:iam::123456789012:role/r',
        context: { team: 'x', n: '1' },
        awsProfile: '',
        enc: 'QUJD',
      },
      { type: 'gcp_kms', id: 'projects/p/locations/l/keyRings/r/cryptoKeys/k', enc: 'REVG' },
      {
        type: 'azure_kv',
        id: 'https://v.vault.azure.net/keys/k/0123',
        vaultUrl: 'https://v.vault.azure.net/',
        name: 'k',
        version: '0123',
        enc: 'R0hJ',
      },
      {
        type: 'hc_vault',
        id: 'http://127.0.0.1:8200/v1/sops/keys/k',
        address: 'http://127.0.0.1:8200',
        enginePath: 'sops',
        keyName: 'k',
        enc: 'vault:v1:abc',
      },
    ]);
  });
});

/** Plain YAML data as the sops tree (mappings as Branch). */
function fromPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromPlain);
  if (v !== null && typeof v === 'object')
    return new Branch(Object.entries(v).map(([key, value]) => ({ key, value: fromPlain(value) as never })));
  if (typeof v === 'number') return String(v);
  return v;
}
