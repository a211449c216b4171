/**
 * The shared render (src/render/cache.ts through `renderSource`, src/sync.ts): requests for the same
 * tree, revision, settings and keys render and decrypt once; anything else that changes the result
 * renders again. Real SOPS files (the example repository, a root service encrypted with real `sops`).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RenderCache } from '../../src/render/cache.js';
import { createKeyring, type SopsKeyring } from '../../src/sops/keyring.js';
import { type RenderRequest, type StageHook, renderSource } from '../../src/sync.js';
import { repoRoot } from '../peers.js';
import { newAgeKey, sopsEncryptInPlace } from './sops-fixtures.js';

const demoKey = readFileSync(path.join(repoRoot, 'examples/keys/demo.agekey'), 'utf8');
const demoRecipient = /public key: (age1\w+)/.exec(demoKey)![1]!;
const CANARY = `canary-${Math.random().toString(36).slice(2)}-value`;

let work: string;
let repo: string;
let keyring: SopsKeyring;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'smc-render-cache-'));
  repo = path.join(work, 'gitops');
  cpSync(path.join(repoRoot, 'examples/gitops'), repo, { recursive: true });
  // A service in the root itself: its entries are named after the SMC (prefix, else name).
  const dir = path.join(repo, 'deployment-configuration/profiles/dev');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'application.secrets.env');
  writeFileSync(file, `ROOT_SECRET=${CANARY}\n`);
  sopsEncryptInPlace(file, demoRecipient);
  keyring = await createKeyring({ age: [demoKey] });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A request, and a counter of the files it decrypts. */
function request(cache: RenderCache | undefined, overrides: Partial<RenderRequest> = {}) {
  const decrypted: string[] = [];
  const stage: StageHook = (name, attributes, run) => {
    if (name === 'decrypt') decrypted.push(String(attributes.file));
    return run();
  };
  const req: RenderRequest = {
    source: { root: repo, revision: 'main@sha256:aaaa', description: 'the example repository' },
    owner: { namespace: 'team-a', name: 'orders' },
    environment: 'dev',
    render: { mode: 'raw' },
    sops: { enabled: true, keyring },
    stage,
    ...(cache ? { renderCache: cache } : {}),
    ...overrides,
  };
  return { req, decrypted };
}

describe('the shared render', () => {
  it('decrypts once for many SMCs of one tree, and names the root service per SMC', async () => {
    const cache = new RenderCache();
    const first = request(cache, { owner: { namespace: 'team-a', name: 'orders' } });
    const second = request(cache, { owner: { namespace: 'team-a', name: 'billing' } });
    const third = request(cache, { owner: { namespace: 'team-a', name: 'x' }, prefix: 'shop' });
    const [a, b, c] = await Promise.all([
      renderSource(first.req),
      renderSource(second.req),
      renderSource(third.req),
    ]);
    expect(first.decrypted.length).toBeGreaterThanOrEqual(3);
    expect(second.decrypted).toEqual([]);
    expect(third.decrypted).toEqual([]);
    const rootOf = (entries: typeof a) => entries.find((e) => e.key === 'ROOT_SECRET');
    expect(rootOf(a)).toMatchObject({ service: 'orders', value: CANARY });
    expect(rootOf(b)).toMatchObject({ service: 'billing', value: CANARY });
    expect(rootOf(c)).toMatchObject({ service: 'shop', value: CANARY });
    // Entries of named services are the same for every SMC; only the root service differs.
    const strip = (entries: typeof a) =>
      entries.map((e) => ({ ...e, service: e.key === 'ROOT_SECRET' ? '' : e.service }));
    expect(strip(b)).toEqual(strip(a));
    // And they are exactly what an unshared render gives.
    expect(a).toEqual(await renderSource(request(undefined).req));
    expect(cache.size).toBe(1);
  });

  it('renders again for another revision, environment, setting or keyring', async () => {
    const cache = new RenderCache();
    await renderSource(request(cache).req);
    const other = [
      request(cache, { source: { root: repo, revision: 'main@sha256:bbbb', description: 'x' } }),
      request(cache, { environment: 'prod' }),
      request(cache, { limits: { maxSourceFileBytes: 1 << 20 } }),
      request(cache, { sops: { enabled: true, keyring: await createKeyring({ age: [demoKey] }) } }),
    ];
    for (const o of other) {
      await renderSource(o.req);
      expect(o.decrypted.length).toBeGreaterThan(0);
    }
    expect(cache.size).toBe(5);
  });

  it('never shares with a keyring that cannot open the files, and keeps no failed render', async () => {
    const cache = new RenderCache();
    const stranger = await createKeyring({ age: [newAgeKey().identity] });
    const refused = request(cache, { sops: { enabled: true, keyring: stranger } });
    await expect(renderSource(refused.req)).rejects.toMatchObject({ code: 'SopsNoMatchingKey' });
    expect(cache.size).toBe(0);
    const ok = request(cache);
    expect((await renderSource(ok.req)).length).toBeGreaterThan(0);
    const again = request(cache, { sops: { enabled: true, keyring: stranger } });
    await expect(renderSource(again.req)).rejects.toMatchObject({ code: 'SopsNoMatchingKey' });
  });

  it('does not share without a revision (a local directory may change under it)', async () => {
    const cache = new RenderCache();
    const noRevision = { root: repo, description: 'a directory' };
    await renderSource(request(cache, { source: noRevision }).req);
    const second = request(cache, { source: noRevision });
    await renderSource(second.req);
    expect(second.decrypted.length).toBeGreaterThan(0);
    expect(cache.size).toBe(0);
  });

  it('hands out frozen entries, so no pass can change another pass’s input', async () => {
    const cache = new RenderCache();
    await renderSource(request(cache).req);
    const [entry] = (await renderSource(request(cache).req)).filter((e) => e.key !== 'ROOT_SECRET');
    expect(() => {
      (entry as { value: string }).value = 'changed';
    }).toThrow(TypeError);
  });
});

describe('RenderCache', () => {
  it('drops a result ttlMs after its last use, and the least recently used beyond maxResults', async () => {
    let now = 0;
    const cache = new RenderCache({ ttlMs: 1000, maxResults: 2, now: () => now });
    let renders = 0;
    const render = async () => (
      renders++,
      [{ key: 'K', value: 'v', kind: 'secret' as const, enabled: true, origin: 'f' }]
    );
    await cache.entries('a', undefined, render);
    now = 900;
    await cache.entries('a', undefined, render); // a hit keeps it alive
    now = 1800;
    await cache.entries('a', undefined, render);
    expect(renders).toBe(1);
    now = 2800;
    await cache.entries('a', undefined, render);
    expect(renders).toBe(2);
    await cache.entries('b', undefined, render);
    await cache.entries('a', undefined, render); // a used last: c pushes b out
    await cache.entries('c', undefined, render);
    expect(cache.size).toBe(2);
    await cache.entries('a', undefined, render);
    expect(renders).toBe(4);
    await cache.entries('b', undefined, render);
    expect(renders).toBe(5);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxChars of keys, values and file names: the oldest go first, a result too large alone is not kept', async () => {
    const cache = new RenderCache({ maxChars: 100 });
    let renders = 0;
    const sized = (n: number) => async () => (
      renders++,
      [{ key: 'K', value: 'v'.repeat(n), kind: 'secret' as const, enabled: true, origin: 'f' }]
    );
    await cache.entries('a', undefined, sized(40)); // 42 characters
    await cache.entries('b', undefined, sized(40));
    expect(cache.size).toBe(2);
    await cache.entries('c', undefined, sized(40)); // 126 in all: a goes
    expect(cache.size).toBe(2);
    await cache.entries('b', undefined, sized(40));
    await cache.entries('c', undefined, sized(40));
    expect(renders).toBe(3);
    expect(cache.holds('a', undefined)).toBe(false);
    const big = await cache.entries('big', undefined, sized(200));
    expect(big[0]!.value).toHaveLength(200); // handed out…
    await new Promise((r) => setImmediate(r));
    expect(cache.holds('big', undefined)).toBe(false); // …not kept
    expect(cache.holds('c', undefined)).toBe(true);
  });

  it('a render that fails is not kept, even when others asked while it ran', async () => {
    const cache = new RenderCache();
    let release!: (e: Error) => void;
    const failing = () => new Promise<never>((_, reject) => (release = reject));
    const first = cache.entries('q', undefined, failing);
    const second = cache.entries('q', undefined, failing); // joins the running render
    release(new Error('disk gone'));
    await expect(first).rejects.toThrow('disk gone');
    await expect(second).rejects.toThrow('disk gone');
    expect(cache.holds('q', undefined)).toBe(false);
    expect(await cache.entries('q', undefined, async () => [])).toEqual([]);
  });

  it('shares one render among the requests that ask while it runs', async () => {
    const cache = new RenderCache();
    let renders = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const render = async () => {
      renders++;
      await gate;
      return [];
    };
    const asked = [cache.entries('q', undefined, render), cache.entries('q', undefined, render)];
    release();
    await Promise.all(asked);
    expect(renders).toBe(1);
  });
});
