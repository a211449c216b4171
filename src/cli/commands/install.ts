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
    .action(async (opts: InstallOptions) => {
      if (opts.export && opts.dryRun)
        throw new CliExit(EXIT_ERROR, '--export and --dry-run exclude each other');
      const objects = await renderKustomization(opts.from ?? PACKAGE_CONFIG_DIR, {
        namespace: opts.namespace,
      });
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
  const results: ApplyResult[] = [];
  /** Namespaces a dry run would create: objects inside them cannot be validated yet. */
  const pendingNamespaces = new Set<string>();
  for (const obj of objects) {
    const ref = `${obj.kind.toLowerCase()}/${obj.metadata.name}`;
    try {
      const path = await k.raw.pathOf(obj);
      const before = await k.raw
        .request<Manifest>('GET', path)
        .catch((e: unknown) => (apiStatus(e) === 404 ? undefined : Promise.reject(e)));
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

/** Whether an apply changed nothing: same resourceVersion, or (dry run) the same object apart from bookkeeping. */
function sameObject(before: Manifest, after: Manifest, dryRun: boolean): boolean {
  if (!dryRun) return before.metadata.resourceVersion === after.metadata.resourceVersion;
  const strip = (o: Manifest) => {
    const { managedFields: _m, resourceVersion: _r, generation: _g, ...metadata } = o.metadata;
    return JSON.stringify({ ...o, metadata });
  };
  return strip(before) === strip(after);
}
