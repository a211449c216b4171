/**
 * Kustomize mode: `kustomize build` on a private, decrypted copy of the source → entries.
 *
 * 1. Copy the source root (minus `.git`) into a fresh private directory (mode 0700,
 *    `smc-kustomize-<pid>-*`) under `SMC_PRIVATE_TMP_DIR` (a memory-backed volume in the controller's
 *    manifests), else `os.tmpdir()`; see `src/private-tmp.ts`, which also sweeps leftovers. Symbolic links that resolve inside the root are recreated inside the copy;
 *    links that leave the root, or dangle, are not copied, so the build cannot read through them.
 * 2. Every copied file that SOPS says is encrypted (by its path's format) is replaced in the copy by
 *    its plaintext from `decrypt`. The source tree itself is never written. A file that cannot be
 *    decrypted (no key, sops disabled) stays ciphertext in the copy and its error is kept: it is
 *    raised only if the build turns out to need the file (its ciphertext reaches a Secret or
 *    ConfigMap, or kustomize fails naming it). So one team's encrypted files elsewhere in a monorepo
 *    do not break another team's build, and "never push ciphertext" still holds.
 * 3. Unless remote loading is allowed, refuse the build if any kustomization it reads names a URL
 *    (a resource, base, component, patch, generator file, Helm repository…): see
 *    `kustomize-remote.ts`. kustomize itself has no switch that stops it fetching.
 *    Then run the real `kustomize build` (no plugins, no exec functions, no Helm: kustomize's
 *    defaults, including `--load-restrictor LoadRestrictionsRootOnly`).
 * 4. Take every `v1 Secret`'s `data` (base64) and `stringData` as secrets, `stringData` winning
 *    within one Secret as in Kubernetes, and every `v1 ConfigMap`'s `data` as configs. The same key
 *    in two Secrets (or two ConfigMaps) is a DuplicateKey error naming both.
 * 5. Remove the copy, whatever happened.
 *
 * kustomize's stderr reaches the error message only as its first line, with the temporary path
 * removed, known plaintext redacted and the length capped: kustomize quotes file content in some
 * messages (e.g. an env line that is not UTF-8, as text and as a byte list).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readdir, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Entry } from '../entry.js';
import { isSmcError, SmcError } from '../errors.js';
import { makeTempDir, removeTempDir } from '../private-tmp.js';
import { type InputLimits, inputLimits } from '../limits/input.js';
import { readFileCapped, tooLarge } from '../limits/read.js';
import { readBoundedYaml, toPlainValue } from '../limits/yaml.js';
import { decodeUtf8, plaintextOf, refuseCiphertext, type DecryptFile } from './decrypt.js';
import { isInside, realRoot, toRelative } from './discovery.js';
import { refuseRemoteReferences } from './kustomize-remote.js';

export interface KustomizeRenderOptions {
  root: string;
  /** Directory holding the kustomization, relative to `root`. */
  kustomizePath: string;
  decrypt: DecryptFile;
  /** kustomize binary; default: env `SMC_KUSTOMIZE_BIN`, else `kustomize` on PATH. */
  kustomizeBin?: string;
  /** Kill the build after this long (default 120 s). */
  timeoutMs?: number;
  /**
   * Let kustomize fetch remote resources and bases (URLs, Git repositories). Default false: a
   * kustomization naming one is refused before kustomize runs (controller setting
   * `allow_kustomize_remote`, msmctl `--allow-kustomize-remote`).
   */
  allowRemote?: boolean;
  /** Size caps (default: DEFAULT_INPUT_LIMITS): each file copied, and the build's output. */
  limits?: Partial<InputLimits>;
}

const REMOTE_HINT =
  'set the controller setting allow_kustomize_remote=true (msmctl: --allow-kustomize-remote) to allow them';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const INSTALL_HINT =
  'install it with `scripts/peers install kustomize` (development) or from ' +
  'https://kubectl.docs.kubernetes.io/installation/kustomize/, then put it on PATH or set SMC_KUSTOMIZE_BIN';
const MAX_STDERR_CHARS = 300;

export async function renderKustomize(opts: KustomizeRenderOptions): Promise<Entry[]> {
  const root = await realRoot(opts.root);
  const kustomizePath = await checkKustomizePath(root, opts.kustomizePath);
  const bin = await resolveKustomizeBin(opts.kustomizeBin);
  const limits = inputLimits(opts.limits);

  const tmp = await makeTempDir('smc-kustomize-');
  try {
    const copy: CopyState = {
      root,
      copyRoot: path.join(tmp, 'src'),
      tmp: await realpath(tmp),
      decrypt: opts.decrypt,
      maxFileBytes: limits.maxSourceFileBytes,
      plaintexts: [],
      failures: [],
    };
    await copyDecrypted(copy, root, copy.copyRoot);
    if (opts.allowRemote !== true)
      await refuseRemoteReferences(copy.copyRoot, kustomizePath, REMOTE_HINT, limits.maxSourceFileBytes);
    // kustomize may print the copy's path as given or with symlinks resolved: remove both.
    const tempPaths = [copy.copyRoot, tmp, path.join(copy.tmp, 'src'), copy.tmp];
    let stdout: string;
    try {
      stdout = await runBuild(bin, copy.copyRoot, kustomizePath, opts.timeoutMs ?? 120_000, limits, {
        tempPaths,
        plaintexts: copy.plaintexts,
      });
    } catch (e) {
      const named = copy.failures.find((f) => isSmcError(e) && e.message.includes(f.path));
      throw named?.error ?? e;
    }
    try {
      return entriesFromBuildOutput(stdout, kustomizePath);
    } catch (e) {
      if (isSmcError(e, 'SopsInvalidFile') && copy.failures.length > 0) throw decryptFailure(copy.failures);
      throw e;
    }
  } finally {
    await removeTempDir(tmp);
  }
}

/** The kustomize binary to run, or KustomizeNotFound saying how to get one. */
export async function resolveKustomizeBin(explicit?: string): Promise<string> {
  const fromEnv = process.env.SMC_KUSTOMIZE_BIN;
  const [candidate, source] =
    explicit !== undefined && explicit !== ''
      ? [explicit, 'the kustomizeBin option']
      : fromEnv !== undefined && fromEnv !== ''
        ? [fromEnv, 'SMC_KUSTOMIZE_BIN']
        : ['kustomize', 'PATH'];
  if (candidate.includes('/') || candidate.includes(path.sep)) {
    if (await isExecutableFile(candidate)) return path.resolve(candidate);
    throw new SmcError(
      'KustomizeNotFound',
      `kustomize binary ${candidate} (from ${source}) is missing or not executable; ${INSTALL_HINT}`,
    );
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, candidate);
    if (await isExecutableFile(p)) return p;
  }
  throw new SmcError(
    'KustomizeNotFound',
    `no \`${candidate}\` binary found on ${source === 'PATH' ? 'PATH' : `PATH (from ${source})`}; ${INSTALL_HINT}`,
  );
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function checkKustomizePath(root: string, kustomizePath: string): Promise<string> {
  const normal = path.posix.normalize(kustomizePath.replace(/\\/g, '/') || '.');
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) {
    throw new SmcError(
      'InvalidSpec',
      `kustomizePath "${kustomizePath}" must be a relative path inside the source`,
    );
  }
  const dir = path.join(root, normal);
  let found = false;
  try {
    if (isInside(root, await realpath(dir))) {
      for (const name of KUSTOMIZATION_FILES) {
        if (
          await stat(path.join(dir, name)).then(
            (s) => s.isFile(),
            () => false,
          )
        )
          found = true;
      }
    }
  } catch {
    // missing directory: reported below
  }
  if (!found) {
    throw new SmcError(
      'SourceNotFound',
      `kustomizePath "${kustomizePath}" has no kustomization.yaml in the source`,
    );
  }
  return normal;
}

interface CopyState {
  root: string;
  copyRoot: string;
  /** The temporary directory (real path), never copied into itself. */
  tmp: string;
  decrypt: DecryptFile;
  /** `max_source_file_bytes`: a larger file in the tree is refused. */
  maxFileBytes: number;
  /** Decrypted texts, for redacting kustomize's messages. */
  plaintexts: string[];
  /** Encrypted files that could not be decrypted, for when the build needs them. */
  failures: Array<{ path: string; error: SmcError }>;
}

/** Copy `dir` (inside the root) to `dest`, decrypting SOPS files on the way. */
async function copyDecrypted(s: CopyState, dir: string, dest: string): Promise<void> {
  await mkdir(dest, { mode: 0o700 });
  const entries = await readdir(dir, { withFileTypes: true });
  await Promise.all(
    entries.map(async (e) => {
      const from = path.join(dir, e.name);
      const to = path.join(dest, e.name);
      if (e.name === '.git' || from === s.tmp) return;
      if (e.isDirectory()) return copyDecrypted(s, from, to);
      if (e.isFile()) {
        const rel = toRelative(s.root, from);
        const bytes = await readFileCapped(from, s.maxFileBytes, 'maxSourceFileBytes', rel);
        let plain: Uint8Array = bytes;
        try {
          plain = await plaintextOf(rel, bytes, s.decrypt);
        } catch (err) {
          if (!isSmcError(err)) throw err;
          s.failures.push({ path: rel, error: err });
        }
        if (plain !== bytes) s.plaintexts.push(Buffer.from(plain).toString('utf8'));
        return writeFile(to, plain, { mode: 0o600 });
      }
      if (e.isSymbolicLink()) {
        const target = await realpath(from).catch(() => undefined);
        if (target === undefined || !isInside(s.root, target)) return;
        const targetInCopy = path.join(s.copyRoot, path.relative(s.root, target));
        return symlink(path.relative(path.dirname(to), targetInCopy), to);
      }
      // sockets, FIFOs, devices: nothing a build reads
    }),
  );
}

/** The error to raise when the build needed ciphertext: the decryption failure(s) behind it. */
function decryptFailure(failures: CopyState['failures']): SmcError {
  const sorted = [...failures].sort((a, b) => (a.path < b.path ? -1 : 1));
  const first = sorted[0] as CopyState['failures'][number];
  if (sorted.length === 1) return first.error;
  const names =
    sorted
      .slice(0, 3)
      .map((f) => f.path)
      .join(', ') + (sorted.length > 3 ? ', …' : '');
  return new SmcError(
    first.error.code,
    `${sorted.length} SOPS-encrypted files could not be decrypted (${names}) and the build read ciphertext; first: ${first.error.message}`,
  );
}

function runBuild(
  bin: string,
  copyRoot: string,
  kustomizePath: string,
  timeoutMs: number,
  limits: InputLimits,
  redact: { tempPaths: string[]; plaintexts: string[] },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      ['build', path.join(copyRoot, kustomizePath)],
      {
        cwd: copyRoot,
        timeout: timeoutMs,
        // `max_rendered_bytes`: the child is killed once its output passes the cap.
        maxBuffer: limits.maxRenderedBytes,
        encoding: 'utf8',
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
        if (e.code === 'ENOENT') {
          return reject(
            new SmcError(
              'KustomizeNotFound',
              `kustomize binary ${bin} could not be started; ${INSTALL_HINT}`,
            ),
          );
        }
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(
            tooLarge(
              `the output of kustomize build ${kustomizePath}`,
              'maxRenderedBytes',
              limits.maxRenderedBytes,
            ),
          );
        }
        if (e.killed || e.signal) {
          return reject(
            new SmcError(
              'KustomizeFailed',
              `kustomize build ${kustomizePath} was stopped (timeout ${Math.round(timeoutMs / 1000)} s, or a signal)`,
            ),
          );
        }
        const summary = summarizeStderr(stderr, redact.tempPaths, redact.plaintexts);
        const code = typeof e.code === 'number' ? ` (exit code ${e.code})` : '';
        reject(new SmcError('KustomizeFailed', `kustomize build ${kustomizePath} failed${code}: ${summary}`));
      },
    );
  });
}

/**
 * First line of kustomize's stderr, made safe for a status message: temporary paths removed,
 * fragments of decrypted files redacted, byte dumps and Go map dumps redacted, length capped.
 */
export function summarizeStderr(stderr: string, tempPaths: string[], plaintexts: string[]): string {
  let line = stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  line = line.trim().replace(/^Error:\s*/, '');
  for (const p of [...tempPaths].sort((a, b) => b.length - a.length)) {
    line = line
      .split(p + path.sep)
      .join('')
      .split(p)
      .join('.');
  }
  const fragments = new Set<string>();
  for (const text of plaintexts) {
    for (const raw of text.split(/\r?\n/)) {
      const l = raw.trim();
      if (l.length >= 4) fragments.add(l);
      for (const sep of ['=', ':']) {
        const i = l.indexOf(sep);
        if (i < 0) continue;
        const v = l
          .slice(i + 1)
          .trim()
          .replace(/^["']|["']$/g, '');
        if (v.length >= 4) fragments.add(v);
      }
    }
  }
  for (const f of [...fragments].sort((a, b) => b.length - a.length)) line = line.split(f).join('[REDACTED]');
  line = line
    .replace(/(invalid utf8 bytes).*$/i, '$1 [REDACTED]')
    .replace(/\[(?:\d+ )+\d+\]/g, '[REDACTED]')
    .replace(/map\[.*\]/g, '[REDACTED]');
  if (line.length > MAX_STDERR_CHARS) line = line.slice(0, MAX_STDERR_CHARS) + '…';
  return line === '' ? 'no error output' : line;
}

interface Origin {
  kind: 'Secret' | 'ConfigMap';
  id: string;
}

/** Secrets and ConfigMaps of a `kustomize build` output → entries. Exported for tests. */
export function entriesFromBuildOutput(output: string, kustomizePath: string): Entry[] {
  // Bounded (src/limits/yaml.ts): nesting and alias expansion are refused, naming the build.
  const { documents: docs, aliases } = readBoundedYaml(
    output,
    `kustomize build ${kustomizePath}`,
    'KustomizeFailed',
  );
  const byKind = {
    secret: new Map<string, { entry: Entry; from: Origin }>(),
    config: new Map<string, { entry: Entry; from: Origin }>(),
  };
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new SmcError(
        'KustomizeFailed',
        `kustomize build ${kustomizePath} printed output that is not valid YAML`,
      );
    }
    const obj: unknown = toPlainValue(doc.contents, aliases);
    if (!isRecord(obj) || obj.apiVersion !== 'v1' || (obj.kind !== 'Secret' && obj.kind !== 'ConfigMap'))
      continue;
    const meta = isRecord(obj.metadata) ? obj.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
    const from: Origin = {
      kind: obj.kind,
      id: typeof meta.namespace === 'string' ? `${meta.namespace}/${name}` : name,
    };
    const where = `${kustomizePath} (${from.kind} ${from.id})`;
    const values = new Map<string, string>();
    if (obj.kind === 'Secret') {
      for (const [k, v] of Object.entries(mapField(obj.data, 'data', where))) {
        if (typeof v === 'string') refuseCiphertext(k, v, where);
        values.set(k, decodeBase64Value(v, k, where));
      }
      for (const [k, v] of Object.entries(mapField(obj.stringData, 'stringData', where))) {
        values.set(k, textValue(v, k, where));
      }
    } else {
      for (const [k, v] of Object.entries(mapField(obj.data, 'data', where)))
        values.set(k, textValue(v, k, where));
    }
    const kind = obj.kind === 'Secret' ? 'secret' : 'config';
    for (const [key, value] of values) {
      refuseCiphertext(key, value, where);
      const prev = byKind[kind].get(key);
      if (prev !== undefined) {
        throw new SmcError(
          'DuplicateKey',
          `kustomize build ${kustomizePath}: key "${key}" is defined by both ${prev.from.kind} ${prev.from.id} and ${from.kind} ${from.id}`,
        );
      }
      byKind[kind].set(key, { entry: { key, value, kind, enabled: true, origin: where }, from });
    }
  }
  return [...byKind.secret.values(), ...byKind.config.values()].map((x) => x.entry);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mapField(v: unknown, field: string, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw new SmcError('ParseError', `${where}: ${field} must be a mapping`);
  return v;
}

function textValue(v: unknown, key: string, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return '';
  throw new SmcError('ParseError', `${where}: the value of key "${key}" is not a string`);
}

function decodeBase64Value(v: unknown, key: string, where: string): string {
  const b64 = typeof v === 'string' ? v.replace(/\s+/g, '') : undefined;
  if (b64 === undefined || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new SmcError('ParseError', `${where}: data key "${key}" is not valid base64`);
  }
  try {
    return decodeUtf8(Buffer.from(b64, 'base64'), where);
  } catch {
    throw new SmcError(
      'ParseError',
      `${where}: data key "${key}" holds binary data (not UTF-8 text), which stores cannot hold as text`,
    );
  }
}
