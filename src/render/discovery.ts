/**
 * Raw-file mode discovery: which services exist under the search root, and which of their files
 * apply to one environment.
 *
 * - Every directory named `deployment-configuration` under `basePath` (default: the source root) is
 *   one service's configuration; its parent directory names the service. When the parent is the
 *   source root itself (single-service repository), the service is named `rootServiceName` (the
 *   caller passes the SMC's prefix, else its name — never the checkout's own directory name, which
 *   may be a cache directory). `basePath` may also point at a `deployment-configuration` directory.
 * - Files come from `profiles/<environment>/`, or from `<environment>/` when that profile
 *   directory does not exist: `application.secrets.env`, `application.secrets.yaml` (the secrets
 *   files, which must be SOPS-encrypted: see raw.ts) and `application.properties` (configuration).
 *   A service with none of them for the environment is left out.
 * - An environment that no service has a profile directory for — and a search root with no
 *   `deployment-configuration` directory at all — is an `EnvironmentNotFound` error naming the
 *   directories looked for and the environments that do exist, never an empty set: an empty set
 *   would prune the store (a typo such as `dve` for `dev` must not empty it).
 * - Skipped while walking: hidden directories (`.git`, …), `node_modules`, the inside of a
 *   `deployment-configuration` directory, and symbolic links to directories (never followed).
 *   A file that is a symbolic link is read only when it resolves inside the source root.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { SmcError } from '../errors.js';

export const CONFIG_DIR_NAME = 'deployment-configuration';
export const RAW_FILE_NAMES = {
  env: 'application.secrets.env',
  yaml: 'application.secrets.yaml',
  properties: 'application.properties',
} as const;

export type RawFileKind = keyof typeof RAW_FILE_NAMES;

/** The files that hold secrets (and so must be encrypted); `properties` is plain configuration. */
export function isSecretsFile(kind: RawFileKind): boolean {
  return kind === 'env' || kind === 'yaml';
}

const MAX_DEPTH = 32;
const ENVIRONMENT = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export interface DiscoverOptions {
  /** Source root (a checkout or extracted artifact). */
  root: string;
  /** Search root relative to `root`; empty, `.` or absent means `root`. */
  basePath?: string;
  environment: string;
  /** Service name used when `deployment-configuration` sits directly in the source root. */
  rootServiceName: string;
}

export interface ServiceFiles {
  service: string;
  /** The service's `deployment-configuration` directory, relative to the root (POSIX separators). */
  configDir: string;
  /** The profile directory the files were taken from, relative to the root. */
  profileDir: string;
  /** Files present for the environment, relative to the root. */
  env?: string;
  yaml?: string;
  properties?: string;
}

export async function discoverServices(opts: DiscoverOptions): Promise<ServiceFiles[]> {
  if (!ENVIRONMENT.test(opts.environment)) {
    throw new SmcError('InvalidSpec', `environment "${opts.environment}" is not a valid directory name`);
  }
  const root = await realRoot(opts.root);
  const searchDir = await resolveBasePath(root, opts.basePath);

  const configDirs: string[] = [];
  if (path.basename(searchDir) === CONFIG_DIR_NAME && searchDir !== root) configDirs.push(searchDir);
  else await walk(searchDir, 0, configDirs);
  configDirs.sort();

  if (configDirs.length === 0) {
    throw new SmcError(
      'EnvironmentNotFound',
      `no ${CONFIG_DIR_NAME} directory under ${describeSearchDir(root, searchDir)}: raw-file mode reads <service>/${CONFIG_DIR_NAME}/profiles/${opts.environment}/`,
    );
  }

  const services: ServiceFiles[] = [];
  let withProfile = 0;
  for (const dir of configDirs) {
    const profileDir = (await directoryInside(root, path.join(dir, 'profiles', opts.environment)))
      ? path.join(dir, 'profiles', opts.environment)
      : (await directoryInside(root, path.join(dir, opts.environment)))
        ? path.join(dir, opts.environment)
        : undefined;
    if (profileDir === undefined) continue;
    withProfile++;
    const parent = path.dirname(dir);
    const found: ServiceFiles = {
      service: parent === root ? opts.rootServiceName : path.basename(parent),
      configDir: toRelative(root, dir),
      profileDir: toRelative(root, profileDir),
    };
    for (const [kind, name] of Object.entries(RAW_FILE_NAMES) as Array<
      [keyof typeof RAW_FILE_NAMES, string]
    >) {
      const file = path.join(profileDir, name);
      if (await regularFileInside(root, file)) found[kind] = toRelative(root, file);
    }
    if (found.env || found.yaml || found.properties) services.push(found);
  }
  if (withProfile === 0) throw await environmentNotFound(root, configDirs, opts.environment);
  return services;
}

/** The error for an environment no service has: the directories looked for, the environments there are. */
async function environmentNotFound(
  root: string,
  configDirs: string[],
  environment: string,
): Promise<SmcError> {
  const shown = configDirs.slice(0, 3).map((d) => `${toRelative(root, d)}/profiles/${environment}/`);
  const more = configDirs.length > shown.length ? ` and ${configDirs.length - shown.length} more` : '';
  const found = new Set<string>();
  for (const dir of configDirs) for (const env of await environmentsIn(root, dir)) found.add(env);
  const environments = [...found].sort();
  return new SmcError(
    'EnvironmentNotFound',
    `environment "${environment}" has no profile directory: ${shown.join(', ')}${more} ${configDirs.length === 1 ? 'does' : 'do'} not exist (nor the legacy <${CONFIG_DIR_NAME}>/${environment}/); ` +
      (environments.length
        ? `environments found: ${environments.join(', ')}`
        : `no environment found in ${configDirs.length === 1 ? 'it' : 'any of them'}`),
  );
}

/**
 * The environments one `deployment-configuration` directory has: every `profiles/<name>/`, and
 * every legacy `<name>/` holding one of the raw files. Names that are not valid environment names
 * (hidden, control characters…) are not listed.
 */
async function environmentsIn(root: string, configDir: string): Promise<string[]> {
  const subdirs = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && ENVIRONMENT.test(e.name)).map((e) => e.name);
  };
  const out = (await directoryInside(root, path.join(configDir, 'profiles')))
    ? await subdirs(path.join(configDir, 'profiles'))
    : [];
  for (const name of await subdirs(configDir)) {
    if (name === 'profiles') continue;
    for (const file of Object.values(RAW_FILE_NAMES)) {
      if (await regularFileInside(root, path.join(configDir, name, file)).catch(() => false)) {
        out.push(name);
        break;
      }
    }
  }
  return out;
}

function describeSearchDir(root: string, searchDir: string): string {
  return searchDir === root ? 'the source root' : `basePath ${toRelative(root, searchDir)}`;
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth > MAX_DEPTH) return;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.') || e.name === 'node_modules') continue;
    const child = path.join(dir, e.name);
    if (e.name === CONFIG_DIR_NAME) out.push(child);
    else await walk(child, depth + 1, out);
  }
}

/** The root's real path, so containment checks compare like with like. */
export async function realRoot(root: string): Promise<string> {
  try {
    const real = await realpath(root);
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    return real;
  } catch {
    throw new SmcError('SourceNotFound', `source directory ${root} does not exist or is not a directory`);
  }
}

async function resolveBasePath(root: string, basePath: string | undefined): Promise<string> {
  const rel = (basePath ?? '').replace(/\\/g, '/');
  const normal = path.posix.normalize(rel === '' ? '.' : rel);
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new SmcError('InvalidSpec', `basePath "${basePath}" must be a relative path inside the source`);
  }
  const dir = path.join(root, normal);
  if (!(await directoryInside(root, dir))) {
    throw new SmcError('SourceNotFound', `basePath "${basePath}" is not a directory in the source`);
  }
  return dir === root ? root : await realpath(dir);
}

async function directoryInside(root: string, p: string): Promise<boolean> {
  try {
    if ((await lstat(p)).isSymbolicLink()) return false;
    return isInside(root, await realpath(p)) && (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function regularFileInside(root: string, p: string): Promise<boolean> {
  let real: string;
  try {
    real = await realpath(p);
  } catch {
    return false; // missing, or a dangling link
  }
  if (!isInside(root, real)) {
    throw new SmcError(
      'SourceNotFound',
      `${toRelative(root, p)} is a symbolic link that points outside the source; refusing to read it`,
    );
  }
  return (await stat(real)).isFile();
}

export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!path.isAbsolute(rel) && rel !== '..' && !rel.startsWith('..' + path.sep));
}

export function toRelative(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join('/');
}
