/**
 * Remote references in a kustomization tree, found before `kustomize build` runs.
 *
 * kustomize fetches whatever a kustomization names by URL — a resource file over HTTP(S), a base or
 * component as a Git repository (`https://…`, `git::…`, `ssh://…`, `git@host:…`, `gh:…`,
 * `github.com/org/repo//path?ref=…`) — and no flag of it turns that off: `--load-restrictor`
 * (default `LoadRestrictionsRootOnly`) only confines *local* files to the kustomization root, and
 * `--network` only concerns KRM function containers. Run by the controller, that is a server-side
 * request forgery: a Git author makes the controller fetch from any address it can reach (a cloud
 * metadata endpoint, an in-cluster service) and sync the answer into a store. So, unless remote
 * loading is explicitly allowed, every kustomization the build would read is checked here first
 * and a URL anywhere kustomize would load one is refused, naming the URL and the kustomization file.
 *
 * Every field kustomize loads a path from is checked: `resources`, `bases`, `components`, `crds`,
 * `configurations`, `generators`, `transformers`, `validators`, `patchesStrategicMerge`, the `path`
 * of `patches`, `patchesJson6902` and `replacements`, `openapi.path`, the `files`, `envs` and `env`
 * of `configMapGenerator` and `secretGenerator`, `helmCharts[].repo`,
 * `helmChartInflationGenerator[].chartRepoUrl`, `helmGlobals.chartHome`/`configHome` — and the same
 * fields in generator/transformer configuration files and inline configurations. Local
 * `resources`, `bases` and `components` directories are followed (each once), so a URL in a base
 * of a base is found too.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { SmcError } from '../errors.js';
import { DEFAULT_INPUT_LIMITS } from '../limits/input.js';
import { readFileCapped } from '../limits/read.js';
import { readBoundedYaml, toPlainValue } from '../limits/yaml.js';
import { isInside } from './discovery.js';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Fields whose entries are paths, directories or URLs kustomize loads. */
const PATH_LIST_FIELDS = [
  'resources',
  'bases',
  'components',
  'crds',
  'configurations',
  'generators',
  'transformers',
  'validators',
  'patchesStrategicMerge',
];
/** Of those, the ones that may name another kustomization (a directory) to follow. */
const FOLLOWED_FIELDS = new Set(['resources', 'bases', 'components']);
/** Of those, the ones whose local files are configurations that may name files of their own. */
const CONFIG_FILE_FIELDS = new Set(['generators', 'transformers', 'validators']);

/** A remote reference kustomize would fetch. */
export interface RemoteReference {
  url: string;
  /** The kustomization (or configuration) file naming it, relative to the source root. */
  file: string;
  /** The field it is in, e.g. `resources`, `configMapGenerator[0].files`. */
  field: string;
}

/**
 * Whether kustomize would take `value` for something to fetch rather than a local path. A name that
 * starts with a host name (`github.com/org/repo`) counts as remote even when a local directory of
 * that name exists: kustomize tries such a name as a Git repository before the local directory.
 */
export function isRemoteReference(value: string): boolean {
  const v = value.trim();
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v)) return true; // http(s)://, ssh://, git://, file://, …
  if (/^(git::|gh:|git@)/i.test(v)) return true;
  if (/^[\w.-]+@[\w.-]+:/.test(v)) return true; // scp-like: user@host:org/repo
  // `github.com/org/repo//dir?ref=v1`: a host name first, tried as a Git repository when not local.
  return /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?\//.test(v);
}

/** Refuse the build if any kustomization it reads names a remote reference. */
export async function refuseRemoteReferences(
  copyRoot: string,
  kustomizePath: string,
  allowedHint: string,
  maxFileBytes: number = DEFAULT_INPUT_LIMITS.maxSourceFileBytes,
): Promise<void> {
  const found = await findRemoteReferences(copyRoot, kustomizePath, maxFileBytes);
  const first = found[0];
  if (first === undefined) return;
  const more = found.length > 1 ? ` (and ${found.length - 1} more)` : '';
  throw new SmcError(
    'KustomizeFailed',
    `${first.file}: ${first.field} names the remote reference "${displayUrl(first.url)}"${more}; kustomize ` +
      `remote resources and bases are refused (the controller must not fetch from addresses a Git ` +
      `author chooses): vendor the files into the repository, or ${allowedHint}`,
  );
}

/** Query parameters kustomize itself reads from a remote reference; any other value is hidden. */
const KUSTOMIZE_URL_PARAMS = new Set(['ref', 'version', 'timeout', 'submodules']);

/**
 * A remote reference as it may be shown: credentials a Git author put in it (`user:token@` before
 * the host, values of query parameters kustomize does not read) are replaced by `***`.
 */
export function displayUrl(url: string): string {
  const noUserinfo = url.replace(/(:\/\/)[^/@?#\s]+@/, '$1***@');
  return noUserinfo.replace(/([?&])([^=&#]+)=([^&#]*)/g, (all, sep: string, name: string) =>
    KUSTOMIZE_URL_PARAMS.has(name) ? all : `${sep}${name}=***`,
  );
}

/** Every remote reference in the kustomization at `kustomizePath` and the local ones it reads. */
export async function findRemoteReferences(
  copyRoot: string,
  kustomizePath: string,
  maxFileBytes: number = DEFAULT_INPUT_LIMITS.maxSourceFileBytes,
): Promise<RemoteReference[]> {
  const root = await realpath(copyRoot);
  const found: RemoteReference[] = [];
  const seen = new Set<string>();
  const queue = [path.join(root, kustomizePath)];
  for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
    const real = await realpath(dir).catch(() => undefined);
    if (real === undefined || !isInside(root, real) || seen.has(real)) continue;
    seen.add(real);
    const file = await kustomizationFile(real);
    if (file === undefined) continue;
    const rel = path.relative(root, file).split(path.sep).join('/');
    const k = await parseYamlFile(file, rel, maxFileBytes);
    for (const doc of k) {
      if (!isRecord(doc)) continue;
      await checkKustomization(doc, { root, dir: real, rel, found, queue, maxFileBytes });
    }
  }
  return found;
}

interface Walk {
  root: string;
  /** Directory paths are resolved against. */
  dir: string;
  /** The file being checked, relative to the source root (for messages). */
  rel: string;
  found: RemoteReference[];
  /** Local kustomization directories still to check. */
  queue: string[];
  /** `max_source_file_bytes`: the cap every other source file is read under. */
  maxFileBytes: number;
}

async function checkKustomization(k: Record<string, unknown>, w: Walk): Promise<void> {
  for (const field of PATH_LIST_FIELDS) {
    for (const [i, value] of strings(k[field])) {
      if (value.includes('\n')) {
        // An inline patch or inline generator configuration, not a path.
        if (CONFIG_FILE_FIELDS.has(field)) await checkInlineConfig(value, `${field}[${i}]`, w);
        continue;
      }
      if (isRemoteReference(value)) {
        w.found.push({ url: value, file: w.rel, field });
        continue;
      }
      const local = await localPath(w, value);
      if (local === undefined) continue;
      if (local.isDir && FOLLOWED_FIELDS.has(field)) w.queue.push(local.path);
      else if (local.isDir && CONFIG_FILE_FIELDS.has(field)) w.queue.push(local.path);
      else if (!local.isDir && CONFIG_FILE_FIELDS.has(field)) await checkConfigFile(local.path, w);
    }
  }
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    for (const [i, item] of records(k[field])) await checkPath(item.path, `${field}[${i}].path`, w);
  }
  if (isRecord(k.openapi)) await checkPath(k.openapi.path, 'openapi.path', w);
  if (isRecord(k.helmGlobals)) {
    await checkPath(k.helmGlobals.chartHome, 'helmGlobals.chartHome', w);
    await checkPath(k.helmGlobals.configHome, 'helmGlobals.configHome', w);
  }
  for (const [i, chart] of records(k.helmCharts)) await checkUrl(chart.repo, `helmCharts[${i}].repo`, w);
  for (const [i, chart] of records(k.helmChartInflationGenerator)) {
    await checkUrl(chart.chartRepoUrl, `helmChartInflationGenerator[${i}].chartRepoUrl`, w);
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    for (const [i, gen] of records(k[field])) await checkGeneratorSources(gen, `${field}[${i}]`, w);
  }
}

/** The `files`, `envs` and `env` of a ConfigMap/Secret generator (kustomization entry or config file). */
async function checkGeneratorSources(gen: Record<string, unknown>, where: string, w: Walk): Promise<void> {
  for (const [, entry] of strings(gen.files)) {
    // `key=path` or `path`
    const eq = entry.indexOf('=');
    await checkPath(
      eq >= 0 && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(entry) ? entry.slice(eq + 1) : entry,
      `${where}.files`,
      w,
    );
  }
  for (const [, entry] of strings(gen.envs)) await checkPath(entry, `${where}.envs`, w);
  await checkPath(gen.env, `${where}.env`, w);
}

/** A generator/transformer/validator configuration file: built-in configs may name files and charts. */
async function checkConfigFile(file: string, w: Walk): Promise<void> {
  const rel = path.relative(w.root, file).split(path.sep).join('/');
  const docs = await parseYamlFile(file, rel, w.maxFileBytes);
  for (const doc of docs)
    if (isRecord(doc)) await checkConfigDoc(doc, { ...w, rel, dir: path.dirname(file) });
}

async function checkInlineConfig(text: string, where: string, w: Walk): Promise<void> {
  for (const doc of parseYamlText(text, `${w.rel} (${where})`))
    if (isRecord(doc)) await checkConfigDoc(doc, w);
}

async function checkConfigDoc(doc: Record<string, unknown>, w: Walk): Promise<void> {
  const kind = typeof doc.kind === 'string' ? doc.kind : 'configuration';
  await checkGeneratorSources(doc, kind, w);
  await checkUrl(doc.chartRepoUrl, `${kind}.chartRepoUrl`, w);
  await checkUrl(doc.repo, `${kind}.repo`, w);
  await checkPath(doc.path, `${kind}.path`, w);
  for (const [, value] of strings(doc.resources)) await checkPath(value, `${kind}.resources`, w);
}

async function checkPath(value: unknown, field: string, w: Walk): Promise<void> {
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\n')) return;
  if (isRemoteReference(value)) {
    w.found.push({ url: value, file: w.rel, field });
  }
}

/** A Helm repository: any URL-like value is remote (there is no local form of it). */
async function checkUrl(value: unknown, field: string, w: Walk): Promise<void> {
  if (typeof value !== 'string' || value.trim() === '') return;
  if (isRemoteReference(value) || /^oci:/i.test(value)) w.found.push({ url: value, file: w.rel, field });
}

async function localPath(w: Walk, value: string): Promise<{ path: string; isDir: boolean } | undefined> {
  const p = path.resolve(w.dir, value);
  try {
    return { path: p, isDir: (await stat(p)).isDirectory() };
  } catch {
    return undefined;
  }
}

async function kustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const p = path.join(dir, name);
    if (
      await stat(p).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

async function parseYamlFile(file: string, rel: string, maxFileBytes: number): Promise<unknown[]> {
  // A kustomization is a source file: the same size cap as any other (src/limits/read.ts).
  const bytes = await readFileCapped(file, maxFileBytes, 'maxSourceFileBytes', rel);
  return parseYamlText(bytes.toString('utf8'), rel);
}

/**
 * A kustomization we cannot read cannot be checked, so it is refused rather than passed to a
 * kustomize that might read it differently. Read with the one bounded YAML reader
 * (src/limits/yaml.ts): nesting and alias expansion are refused, naming the file.
 */
function parseYamlText(text: string, rel: string): unknown[] {
  const { documents, aliases } = readBoundedYaml(text, rel, 'KustomizeFailed');
  return documents.map((doc) => {
    if (doc.errors.length > 0) {
      throw new SmcError(
        'KustomizeFailed',
        `${rel} is not valid YAML; it cannot be checked for remote references`,
      );
    }
    return toPlainValue(doc.contents, aliases);
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): [number, string][] {
  if (typeof v === 'string') return [[0, v]];
  if (!Array.isArray(v)) return [];
  return v.flatMap((x, i): [number, string][] => (typeof x === 'string' ? [[i, x]] : []));
}

function records(v: unknown): [number, Record<string, unknown>][] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x, i): [number, Record<string, unknown>][] => (isRecord(x) ? [[i, x]] : []));
}
