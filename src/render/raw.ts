/**
 * Raw-file mode: discovered files → entries.
 *
 * Per service: `application.secrets.env` and `application.secrets.yaml` give `kind: 'secret'`
 * entries, `application.properties` gives `kind: 'config'` entries. On a key defined in both secret
 * files, YAML wins — except that an active definition is never overridden by a commented-out one
 * (the same rule as inside one file). Services are not merged or prefixed here: each entry carries
 * its `service`, and naming decides what to do with it.
 */
import path from 'node:path';
import type { Entry } from '../entry.js';
import { SmcError } from '../errors.js';
import { type InputLimits, inputLimits } from '../limits/input.js';
import { readFileCapped, tooLarge } from '../limits/read.js';
import { decodeUtf8, plaintextOf, refuseCiphertext, type DecryptFile } from './decrypt.js';
import { discoverServices, realRoot, type ServiceFiles } from './discovery.js';
import { parseEnv } from './env.js';
import type { ParsedEntry } from './parsed.js';
import { parseProperties } from './properties.js';
import { parseYaml } from './yaml.js';

export interface RawRenderOptions {
  root: string;
  basePath?: string;
  environment: string;
  /** Service name for a `deployment-configuration` directly in the root: the SMC's prefix, else its name. */
  rootServiceName: string;
  decrypt: DecryptFile;
  /** Size caps (default: DEFAULT_INPUT_LIMITS): each file, and all files together. */
  limits?: Partial<InputLimits>;
}

/** What one render may still read: each file and all of them together are capped. */
interface ReadBudget {
  limits: InputLimits;
  /** Plaintext bytes read so far. */
  total: number;
}

export async function renderRawFiles(opts: RawRenderOptions): Promise<Entry[]> {
  const root = await realRoot(opts.root);
  const services = await discoverServices({ ...opts, root });
  const budget: ReadBudget = { limits: inputLimits(opts.limits), total: 0 };
  const out: Entry[] = [];
  for (const svc of services) out.push(...(await renderService(root, svc, opts.decrypt, budget)));
  return out;
}

async function renderService(
  root: string,
  svc: ServiceFiles,
  decrypt: DecryptFile,
  budget: ReadBudget,
): Promise<Entry[]> {
  const secrets = new Map<string, Entry>();
  const put = (e: Entry) => {
    const prev = secrets.get(e.key);
    if (prev === undefined || e.enabled || !prev.enabled) secrets.set(e.key, e);
  };
  if (svc.env)
    for (const e of await readEntries(root, svc.env, parseEnv, decrypt, budget))
      put(toEntry(e, 'secret', svc));
  if (svc.yaml)
    for (const e of await readEntries(root, svc.yaml, parseYaml, decrypt, budget))
      put(toEntry(e, 'secret', svc));
  const configs = svc.properties
    ? (await readEntries(root, svc.properties, parseProperties, decrypt, budget)).map((e) =>
        toEntry(e, 'config', svc),
      )
    : [];
  return [...sortByKey([...secrets.values()]), ...sortByKey(configs)];

  function toEntry(e: ParsedEntry & { origin: string }, kind: Entry['kind'], s: ServiceFiles): Entry {
    return { key: e.key, value: e.value, kind, enabled: e.enabled, origin: e.origin, service: s.service };
  }
}

async function readEntries(
  root: string,
  relative: string,
  parse: (content: string, file: string) => ParsedEntry[],
  decrypt: DecryptFile,
  budget: ReadBudget,
): Promise<Array<ParsedEntry & { origin: string }>> {
  const { maxSourceFileBytes, maxRenderedBytes } = budget.limits;
  const bytes = await readFileCapped(
    path.join(root, ...relative.split('/')),
    maxSourceFileBytes,
    'maxSourceFileBytes',
    relative,
  );
  const plain = await plaintextOf(relative, bytes, decrypt);
  budget.total += plain.byteLength;
  if (budget.total > maxRenderedBytes) {
    throw tooLarge(`the files rendered up to ${relative}`, 'maxRenderedBytes', maxRenderedBytes);
  }
  const text = decodeUtf8(plain, relative);
  return parse(text, relative).map((e) => {
    refuseCiphertext(e.key, e.value, relative);
    return { ...e, origin: relative };
  });
}

function sortByKey(entries: Entry[]): Entry[] {
  return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The value of the `<prefix>-properties` secret used when configs go to no config store: a JSON
 * object of the enabled config entries with keys in code-unit order. Written out by hand because
 * `JSON.stringify` lists integer-like keys ("2", "10") first whatever the insertion order.
 * The same key twice (e.g. from two services) is a DuplicateKey error: pass one service at a time.
 */
export function propertiesAsSecret(configs: readonly Entry[]): string {
  const byKey = new Map<string, Entry>();
  for (const e of configs) {
    if (!e.enabled) continue;
    const prev = byKey.get(e.key);
    if (prev !== undefined) {
      throw new SmcError(
        'DuplicateKey',
        `property "${e.key}" is defined in both ${prev.origin} and ${e.origin}; render one service per properties secret`,
      );
    }
    byKey.set(e.key, e);
  }
  const keys = [...byKey.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(byKey.get(k)?.value ?? '')}`).join(',')}}`;
}
