/**
 * Raw-file mode: discovered files → entries.
 *
 * Per service: `application.secrets.env` and `application.secrets.yaml` give `kind: 'secret'`
 * entries, `application.properties` gives `kind: 'config'` entries. On a key defined in both secret
 * files, YAML wins — except that an active definition is never overridden by a commented-out one
 * (the same rule as inside one file). Services are not merged or prefixed here: each entry carries
 * its `service`, and naming decides what to do with it.
 *
 * The two secrets files must be SOPS-encrypted: a plain one that holds a key is refused
 * (`SecretsNotEncrypted`, naming the file) unless the caller allows plaintext (for tests), since a
 * plaintext secret in Git has already leaked. `application.properties` is configuration, read
 * plain or encrypted alike.
 */
import path from 'node:path';
import type { Entry } from '../entry.js';
import { SmcError } from '../errors.js';
import { type InputLimits, inputLimits } from '../limits/input.js';
import { readFileCapped, tooLarge } from '../limits/read.js';
import { formatFromPath, isSopsEncrypted } from '../sops/index.js';
import { decodeUtf8, refuseCiphertext, type DecryptFile } from './decrypt.js';
import {
  discoverServices,
  isSecretsFile,
  realRoot,
  type RawFileKind,
  type ServiceFiles,
} from './discovery.js';
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
  /** Accept secrets files that are not SOPS-encrypted (tests only). Default false. */
  allowPlaintext?: boolean;
  /** How the user allows plaintext, quoted in the refusal (default `allowPlaintext`). */
  allowPlaintextSwitch?: string;
  /** Size caps (default: DEFAULT_INPUT_LIMITS): each file, and all files together. */
  limits?: Partial<InputLimits>;
}

/** What reading one file needs besides its path. */
interface ReadContext {
  root: string;
  decrypt: DecryptFile;
  /** Undefined: plaintext allowed; else how to allow it, for the refusal. */
  refusePlaintext?: string;
  /** What this render may still read: each file and all of them together are capped. */
  budget: { limits: InputLimits; /** Plaintext bytes read so far. */ total: number };
}

export async function renderRawFiles(opts: RawRenderOptions): Promise<Entry[]> {
  const root = await realRoot(opts.root);
  const services = await discoverServices({ ...opts, root });
  const ctx: ReadContext = {
    root,
    decrypt: opts.decrypt,
    budget: { limits: inputLimits(opts.limits), total: 0 },
    ...(opts.allowPlaintext ? {} : { refusePlaintext: opts.allowPlaintextSwitch ?? 'allowPlaintext' }),
  };
  const out: Entry[] = [];
  for (const svc of services) out.push(...(await renderService(ctx, svc)));
  return out;
}

async function renderService(ctx: ReadContext, svc: ServiceFiles): Promise<Entry[]> {
  const secrets = new Map<string, Entry>();
  const put = (e: Entry) => {
    const prev = secrets.get(e.key);
    if (prev === undefined || e.enabled || !prev.enabled) secrets.set(e.key, e);
  };
  if (svc.env)
    for (const e of await readEntries(ctx, svc.env, 'env', parseEnv)) put(toEntry(e, 'secret', svc));
  if (svc.yaml)
    for (const e of await readEntries(ctx, svc.yaml, 'yaml', parseYaml)) put(toEntry(e, 'secret', svc));
  const configs = svc.properties
    ? (await readEntries(ctx, svc.properties, 'properties', parseProperties)).map((e) =>
        toEntry(e, 'config', svc),
      )
    : [];
  return [...sortByKey([...secrets.values()]), ...sortByKey(configs)];

  function toEntry(e: ParsedEntry & { origin: string }, kind: Entry['kind'], s: ServiceFiles): Entry {
    return { key: e.key, value: e.value, kind, enabled: e.enabled, origin: e.origin, service: s.service };
  }
}

async function readEntries(
  ctx: ReadContext,
  relative: string,
  kind: RawFileKind,
  parse: (content: string, file: string) => ParsedEntry[],
): Promise<Array<ParsedEntry & { origin: string }>> {
  const { maxSourceFileBytes, maxRenderedBytes } = ctx.budget.limits;
  const bytes = await readFileCapped(
    path.join(ctx.root, ...relative.split('/')),
    maxSourceFileBytes,
    'maxSourceFileBytes',
    relative,
  );
  const encrypted = isSopsEncrypted(bytes, formatFromPath(relative));
  const plain = encrypted ? await ctx.decrypt(relative, bytes) : bytes;
  ctx.budget.total += plain.byteLength;
  if (ctx.budget.total > maxRenderedBytes) {
    throw tooLarge(`the files rendered up to ${relative}`, 'maxRenderedBytes', maxRenderedBytes);
  }
  const text = decodeUtf8(plain, relative);
  const entries = parse(text, relative).map((e) => {
    refuseCiphertext(e.key, e.value, relative);
    return { ...e, origin: relative };
  });
  // A secrets file with no key at all (empty, comments only) has nothing to leak.
  if (!encrypted && ctx.refusePlaintext !== undefined && isSecretsFile(kind) && entries.length > 0) {
    throw new SmcError(
      'SecretsNotEncrypted',
      `${relative} is not SOPS-encrypted: a secrets file must be (sops encrypt -i ${path.posix.basename(relative)}); plaintext is accepted only when allowed with ${ctx.refusePlaintext} (tests)`,
    );
  }
  return entries;
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
