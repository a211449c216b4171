/**
 * What src/kube/ relies on in @kubernetes/client-node's files (docs/performance.md, "Memory"), so
 * that an upgrade that moves or changes them fails here, with a message saying what to update,
 * rather than at the controller's start or — worse — silently loading the whole package again:
 * the files it imports by path, the two names KubeConfig's module imports from the generated
 * index (src/kube/slim-config.ts), and, for every method of the slim API clients
 * (src/kube/api-clients.ts), the same request and the same result as client-node's own class.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as full from '@kubernetes/client-node';
import { createConfiguration, ServerConfiguration } from '@kubernetes/client-node';
import {
  type RequestContext,
  ResponseContext,
  wrapHttpLibrary,
} from '@kubernetes/client-node/dist/gen/http/http.js';
import { describe, expect, it } from 'vitest';
import * as slim from '../../src/kube/api-clients.js';
import { SLIM_GEN_INDEX } from '../../src/kube/slim-config.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const packageDir = dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node/package.json'));
const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
const UPGRADE = `@kubernetes/client-node ${version} changed what src/kube/ relies on`;

describe(`client-node's layout (${version})`, () => {
  it('every file src/kube/ imports by path exists', () => {
    const kubeDir = join(repoRoot, 'src/kube');
    const paths = readdirSync(kubeDir).flatMap((f) =>
      [...readFileSync(join(kubeDir, f), 'utf8').matchAll(/'@kubernetes\/client-node\/(dist\/[^']+)'/g)].map(
        (m) => m[1]!,
      ),
    );
    expect(paths.length).toBeGreaterThan(5);
    const missing = paths.filter((p) => !existsSync(join(packageDir, p)));
    expect(missing, `${UPGRADE}: these files are gone — update src/kube/`).toEqual([]);
  });

  it("KubeConfig's module imports from the generated index only what the slim index gives it", () => {
    const config = readFileSync(join(packageDir, 'dist/config.js'), 'utf8');
    const fromGenIndex = [...config.matchAll(/import\s*\{([^}]*)\}\s*from\s*'\.\/gen\/index\.js'/g)];
    const imported = fromGenIndex.flatMap((m) =>
      m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    const given = [...SLIM_GEN_INDEX.matchAll(/export \{ (\w+) \}/g)].map((m) => m[1]!);
    expect(
      imported.sort(),
      `${UPGRADE}: dist/config.js imports other names from ./gen/index.js — update SLIM_GEN_INDEX in src/kube/slim-config.ts`,
    ).toEqual(given.sort());
    expect(config, `${UPGRADE}: no other import of the generated index or the API entry`).not.toMatch(
      /from '\.\/(api|index)\.js'/,
    );
  });
});

type Table = Record<string, readonly string[]>;
const GROUPS: [
  string,
  Table,
  new (c: full.Configuration) => object,
  new (c: full.Configuration) => object,
][] = [
  ['CoreV1Api', slim.CORE_V1_PARAMETERS, slim.CoreV1Api, full.CoreV1Api],
  ['CustomObjectsApi', slim.CUSTOM_OBJECTS_PARAMETERS, slim.CustomObjectsApi, full.CustomObjectsApi],
  ['CoordinationV1Api', slim.COORDINATION_V1_PARAMETERS, slim.CoordinationV1Api, full.CoordinationV1Api],
  ['AppsV1Api', slim.APPS_V1_PARAMETERS, slim.AppsV1Api, full.AppsV1Api],
];

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** One client of `Api` whose HTTP library records each request and answers `reply`. */
function recording(Api: new (c: full.Configuration) => object, seen: Seen[], reply: string): object {
  const httpApi = wrapHttpLibrary({
    send: async (request: RequestContext) => {
      seen.push({
        method: request.getHttpMethod(),
        url: request.getUrl(),
        headers: request.getHeaders(),
        body: request.getBody(),
      });
      const body = { text: async () => reply, binary: async () => Buffer.from(reply), stream: () => null };
      return new ResponseContext(200, { 'content-type': 'application/json' }, body);
    },
  });
  return new Api(
    createConfiguration({
      baseServer: new ServerConfiguration('https://kube.test:6443', {}),
      httpApi,
      middleware: [full.setHeaderOptions('User-Agent', 'layout-test').middleware![0]!],
    }),
  );
}

describe.each(GROUPS)('slim %s', (group, table, Slim, Full) => {
  it.each(Object.keys(table))(`%s sends and returns what client-node's ${group} does`, async (method) => {
    // Every parameter gets a value of its own, so a parameter out of place changes the request.
    const param = Object.fromEntries(
      table[method]!.map((name, i) => [name, name === 'body' ? { metadata: { name: `body${i}` } } : `v${i}`]),
    );
    const options = full.setHeaderOptions('X-Layout-Test', method);
    const reply = JSON.stringify({
      kind: 'Secret',
      metadata: { name: 'n', creationTimestamp: '2026-01-01T00:00:00Z' },
    });
    const seenFull: Seen[] = [];
    const seenSlim: Seen[] = [];
    type Call = Record<string, (p: unknown, o: unknown) => Promise<unknown>>;
    const fromFull = await (recording(Full, seenFull, reply) as Call)[method]!(param, options);
    const fromSlim = await (recording(Slim, seenSlim, reply) as Call)[method]!(param, options);
    expect(seenSlim, `${UPGRADE}: ${group}.${method}'s parameters — update src/kube/api-clients.ts`).toEqual(
      seenFull,
    );
    expect(seenSlim).toHaveLength(1);
    expect(seenSlim[0]!.headers['X-Layout-Test']).toBe(method);
    expect(fromSlim).toEqual(fromFull);
    expect(fromSlim?.constructor).toBe(fromFull?.constructor);
  });
});
