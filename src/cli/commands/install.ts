/**
 * `msmctl install [--export | --dry-run] [-n NAMESPACE]`: the CRD, RBAC, Deployment and settings
 * ConfigMap from the package's own `config/` base. `--export` prints the manifests (no cluster
 * needed); otherwise each object is applied with server-side apply (field manager `msmctl`,
 * conflicts forced), or only validated by the apiserver with `--dry-run`.
 */
import { PatchStrategy } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { EXIT_ERROR } from './common.js';
import {
  addKubeOptions,
  apiErrorMessage,
  apiStatus,
  CliExit,
  connect,
  EXIT_NOT_READY,
  type KubeContext,
  type KubeOptions,
} from '../kube.js';
import { manifestsToYaml, PACKAGE_CONFIG_DIR, renderKustomization, type Manifest } from '../manifests.js';
import { writeLines } from '../output.js';

export const FIELD_MANAGER = 'msmctl';

interface InstallOptions extends KubeOptions {
  export?: boolean;
  dryRun?: boolean;
  from?: string;
  image?: string;
}

export function registerInstall(program: Command): void {
  addKubeOptions(
    program
      .command('install')
      .description('install the controller: CRD, RBAC, Deployment, settings ConfigMap (server-side apply)'),
    { namespaceHelp: "the controller's namespace (default: secret-manager-controller-system)" },
  )
    .option('--export', 'print the manifests as multi-document YAML; apply nothing')
    .option('--dry-run', 'server-side dry run: the apiserver validates every object, nothing is stored')
    .option('--from <dir>', "kustomize base to install (default: this package's config/)")
    .option('--image <ref>', 'controller image, e.g. registry.example.com/secret-manager-controller:0.1.0')
    .action(async (opts: InstallOptions) => {
      if (opts.export && opts.dryRun)
        throw new CliExit(EXIT_ERROR, '--export and --dry-run exclude each other');
      if (opts.image !== undefined && !IMAGE_REF.test(opts.image))
        throw new CliExit(
          EXIT_ERROR,
          `--image: "${opts.image}" is not an image reference (REPOSITORY[:TAG][@sha256:DIGEST])`,
        );
      const objects = await renderKustomization(opts.from ?? PACKAGE_CONFIG_DIR, {
        namespace: opts.namespace,
      });
      if (opts.image !== undefined) setControllerImage(objects, opts.image);
      if (opts.export) {
        process.stdout.write(manifestsToYaml(objects));
        return;
      }
      const k = connect(opts);
      const results = await applyAll(k, objects, opts.dryRun ?? false);
      writeLines(
        process.stdout,
        results.map(
          (r) =>
            `${r.ref} ${r.outcome}${opts.dryRun ? ' (server dry run)' : ''}${r.note ? `: ${r.note}` : ''}`,
        ),
      );
      const failed = results.filter((r) => r.outcome === 'failed').length;
      if (failed) throw new CliExit(EXIT_NOT_READY, `${failed} of ${results.length} object(s) failed`);
    });
}

/** An OCI image reference: lowercase repository path with optional registry and port, tag, digest. */
const IMAGE_REF =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** `--image`: the image of the Deployment's `manager` container (kustomize's `images:` does the same). */
function setControllerImage(objects: Manifest[], image: string): void {
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const containers =
      (o.spec as { template?: { spec?: { containers?: { name: string; image?: string }[] } } })?.template
        ?.spec?.containers ?? [];
    for (const c of containers) if (c.name === 'manager') c.image = image;
  }
}

export interface ApplyResult {
  /** `kind/name`, as kubectl prints it. */
  ref: string;
  outcome: 'created' | 'configured' | 'unchanged' | 'failed';
  note?: string;
}

/** Server-side apply of every object in order; one failure does not stop the others. */
export async function applyAll(
  k: KubeContext,
  objects: readonly Manifest[],
  dryRun: boolean,
): Promise<ApplyResult[]> {
  const current = await readCurrent(k, objects);
  refuseHelmRelease(current);
  const results: ApplyResult[] = [];
  /** Namespaces a dry run would create: objects inside them cannot be validated yet. */
  const pendingNamespaces = new Set<string>();
  for (const [i, obj] of objects.entries()) {
    const ref = refOf(obj);
    try {
      const read = current[i]!;
      if ('error' in read) throw read.error;
      const { path, before } = read;
      if (dryRun && !before && obj.metadata.namespace && pendingNamespaces.has(obj.metadata.namespace)) {
        results.push({
          ref,
          outcome: 'created',
          note: `not validated: namespace ${obj.metadata.namespace} does not exist yet`,
        });
        continue;
      }
      const after = await k.raw.request<Manifest>('PATCH', path, {
        body: obj,
        contentType: PatchStrategy.ServerSideApply,
        query: { fieldManager: FIELD_MANAGER, force: 'true', ...(dryRun ? { dryRun: 'All' } : {}) },
      });
      if (!before) {
        if (obj.kind === 'Namespace') pendingNamespaces.add(obj.metadata.name);
        results.push({ ref, outcome: 'created' });
      } else {
        results.push({ ref, outcome: sameObject(before, after, dryRun) ? 'unchanged' : 'configured' });
      }
    } catch (e) {
      results.push({ ref, outcome: 'failed', note: apiErrorMessage(e) });
    }
  }
  return results;
}

const refOf = (obj: Manifest) => `${obj.kind.toLowerCase()}/${obj.metadata.name}`;

type CurrentObject = { obj: Manifest; path: string; before?: Manifest } | { obj: Manifest; error: unknown };

/** Each object as the cluster holds it now (undefined when absent), or the error reading it. */
async function readCurrent(k: KubeContext, objects: readonly Manifest[]): Promise<CurrentObject[]> {
  const out: CurrentObject[] = [];
  for (const obj of objects) {
    try {
      const path = await k.raw.pathOf(obj);
      const before = await k.raw
        .request<Manifest>('GET', path)
        .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
      out.push({ obj, path, before });
    } catch (error) {
      out.push({ obj, error });
    }
  }
  return out;
}

/**
 * Refuses to apply over a Helm release: server-side apply with forced conflicts would silently take
 * its objects over (and fail on the Deployment if the selectors ever differ), leaving Helm's record
 * of the release wrong. Helm marks what it owns with these label and annotations.
 */
function refuseHelmRelease(current: readonly CurrentObject[]): void {
  for (const c of current) {
    if (!('before' in c) || !c.before) continue;
    const labels = c.before.metadata.labels ?? {};
    const annotations = (c.before.metadata.annotations ?? {}) as Record<string, string>;
    const release = annotations['meta.helm.sh/release-name'];
    if (labels['app.kubernetes.io/managed-by'] !== 'Helm' && release === undefined) continue;
    const releaseNs = annotations['meta.helm.sh/release-namespace'] ?? c.before.metadata.namespace ?? '';
    const name = release ?? '<unknown>';
    const where = c.before.metadata.namespace ? ` in namespace ${c.before.metadata.namespace}` : '';
    throw new CliExit(
      EXIT_ERROR,
      `${refOf(c.obj)}${where} is managed by the Helm release ${releaseNs}/${name}: use helm upgrade, or helm uninstall ${name} -n ${releaseNs} before msmctl install`,
    );
  }
}

/** Whether an apply changed nothing: same resourceVersion, or (dry run) the same object apart from bookkeeping. */
function sameObject(before: Manifest, after: Manifest, dryRun: boolean): boolean {
  if (!dryRun) return before.metadata.resourceVersion === after.metadata.resourceVersion;
  const strip = (o: Manifest) => {
    const { managedFields: _m, resourceVersion: _r, generation: _g, ...metadata } = o.metadata;
    return JSON.stringify({ ...o, metadata });
  };
  return strip(before) === strip(after);
}
