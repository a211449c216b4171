/**
 * The install manifests: renders the package's own kustomize base (`config/`, shipped in the npm
 * package) without the kustomize binary, which user machines do not have. Only the features that
 * base uses are implemented — `resources` (files and directories), `namespace` and `labels`
 * (`pairs`, `includeSelectors`, `includeTemplates`) — with kustomize's semantics, including its
 * legacy output order; anything else is refused with an error naming the kustomization and field.
 * test/cli/install.test.ts compares the result with the real `kustomize build`.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { readBoundedYaml, toPlainValue } from '../limits/yaml.js';
import { SmcError } from '../errors.js';

/** A Kubernetes object read from a manifest (untyped beyond what rendering needs). */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** `config/` of the installed package (src/cli → ../../config, and the same from dist/cli). */
export const PACKAGE_CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources']);

/** Kinds whose objects have no namespace (the namespace transformer leaves them alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'APIService',
]);
/** Namespaced kinds the renderer knows; any other kind is refused (its scope is unknown here). */
const NAMESPACED = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'ServiceMonitor',
  'PrometheusRule',
]);
/** Kinds whose pod selector and template labels `includeSelectors` / `includeTemplates` extend. */
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

/** kustomize's default ("legacy") output order: these kinds first, in this order; webhooks last. */
const ORDER_FIRST = [
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'CustomResourceDefinition',
  'ServiceAccount',
  'PodSecurityPolicy',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Endpoints',
  'Service',
  'LimitRange',
  'PriorityClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

/** An object and the file it came from (for error messages). */
interface Item {
  obj: Manifest;
  file: string;
}

export interface RenderOptions {
  /** Overrides the top kustomization's `namespace` (the controller's namespace). */
  namespace?: string;
}

/** `kustomize build DIR`, for the subset described above. */
export async function renderKustomization(dir: string, opts: RenderOptions = {}): Promise<Manifest[]> {
  const items = await build(path.resolve(dir), opts.namespace, new Set());
  const seen = new Set<string>();
  for (const { obj, file } of items) {
    const id = `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    if (seen.has(id)) {
      throw new SmcError('InvalidSpec', `${file}: ${obj.kind} ${obj.metadata.name} is defined twice`);
    }
    seen.add(id);
  }
  return items.map((i) => i.obj).sort(compareLegacy);
}

/** Multi-document YAML of the objects, in order. */
export function manifestsToYaml(objs: readonly Manifest[]): string {
  return objs.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

async function findKustomization(dir: string): Promise<string> {
  for (const name of KUSTOMIZATION_FILES) {
    const file = path.join(dir, name);
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return file;
  }
  throw new SmcError('InvalidSpec', `${dir}: no kustomization.yaml`);
}

async function build(
  dir: string,
  namespaceOverride: string | undefined,
  visiting: Set<string>,
): Promise<Item[]> {
  if (visiting.has(dir)) throw new SmcError('InvalidSpec', `${dir}: kustomization includes itself`);
  visiting.add(dir);
  const file = await findKustomization(dir);
  const k = parseKustomization(file, await readFile(file, 'utf8'));

  const items: Item[] = [];
  for (const r of k.resources) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(r) || r.startsWith('git@')) {
      throw new SmcError(
        'InvalidSpec',
        `${file}: resources: remote resource ${r} is not supported by msmctl install`,
      );
    }
    const target = path.resolve(dir, r);
    const st = await stat(target).catch(() => undefined);
    if (!st) throw new SmcError('InvalidSpec', `${file}: resources: ${r} does not exist`);
    if (st.isDirectory()) items.push(...(await build(target, undefined, visiting)));
    else items.push(...parseManifests(target, await readFile(target, 'utf8')));
  }
  visiting.delete(dir);

  const namespace = namespaceOverride ?? k.namespace;
  for (const l of k.labels) applyLabels(items, l, file);
  if (namespace) applyNamespace(items, namespace, file);
  return items;
}

interface LabelsEntry {
  pairs: Record<string, string>;
  includeSelectors: boolean;
  includeTemplates: boolean;
}

interface Kustomization {
  namespace?: string;
  labels: LabelsEntry[];
  resources: string[];
}

function parseKustomization(file: string, text: string): Kustomization {
  const { documents: docs, aliases } = readBoundedYaml(text, file, 'ParseError');
  if (docs.length !== 1 || docs[0]!.errors.length) {
    throw new SmcError(
      'ParseError',
      `${file}: not a single YAML document${docs[0]?.errors[0] ? `: ${docs[0].errors[0].message}` : ''}`,
    );
  }
  const raw = toPlainValue(docs[0]!.contents, aliases) as Record<string, unknown> | null;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SmcError('InvalidSpec', `${file}: expected a mapping`);
  }
  for (const key of Object.keys(raw)) {
    if (!SUPPORTED_FIELDS.has(key)) {
      throw new SmcError(
        'InvalidSpec',
        `${file}: field "${key}" is not supported by msmctl install (supported: ${[...SUPPORTED_FIELDS].join(', ')}); use kustomize build | kubectl apply -f - instead`,
      );
    }
  }
  if (raw.kind !== undefined && raw.kind !== 'Kustomization') {
    throw new SmcError('InvalidSpec', `${file}: kind must be Kustomization (got ${String(raw.kind)})`);
  }
  if (raw.namespace !== undefined && typeof raw.namespace !== 'string') {
    throw new SmcError('InvalidSpec', `${file}: namespace must be a string`);
  }
  const resources = raw.resources ?? [];
  if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) {
    throw new SmcError('InvalidSpec', `${file}: resources must be a list of paths`);
  }
  const labels = raw.labels ?? [];
  if (!Array.isArray(labels)) throw new SmcError('InvalidSpec', `${file}: labels must be a list`);
  return {
    namespace: raw.namespace as string | undefined,
    resources: resources as string[],
    labels: labels.map((l, i) => parseLabels(l, `${file}: labels[${i}]`)),
  };
}

function parseLabels(l: unknown, at: string): LabelsEntry {
  if (!l || typeof l !== 'object' || Array.isArray(l))
    throw new SmcError('InvalidSpec', `${at}: expected a mapping`);
  const entry = l as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!['pairs', 'includeSelectors', 'includeTemplates'].includes(key)) {
      throw new SmcError('InvalidSpec', `${at}: field "${key}" is not supported by msmctl install`);
    }
  }
  const pairs = entry.pairs ?? {};
  if (
    typeof pairs !== 'object' ||
    Array.isArray(pairs) ||
    Object.values(pairs).some((v) => typeof v !== 'string')
  ) {
    throw new SmcError('InvalidSpec', `${at}.pairs: expected a map of strings`);
  }
  return {
    pairs: pairs as Record<string, string>,
    includeSelectors: entry.includeSelectors === true,
    includeTemplates: entry.includeTemplates === true,
  };
}

function parseManifests(file: string, text: string): Item[] {
  const out: Item[] = [];
  const { documents, aliases } = readBoundedYaml(text, file, 'ParseError');
  for (const [i, doc] of documents.entries()) {
    if (doc.errors.length)
      throw new SmcError('ParseError', `${file}: document ${i + 1}: ${doc.errors[0]!.message}`);
    const obj = toPlainValue(doc.contents, aliases) as Manifest | null;
    if (obj === null || obj === undefined) continue; // an empty document
    if (typeof obj !== 'object' || typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') {
      throw new SmcError(
        'InvalidSpec',
        `${file}: document ${i + 1}: not a Kubernetes object (apiVersion and kind required)`,
      );
    }
    if (obj.kind === 'List' || obj.kind.endsWith('List')) {
      throw new SmcError(
        'InvalidSpec',
        `${file}: document ${i + 1}: ${obj.kind} is not supported by msmctl install`,
      );
    }
    if (typeof obj.metadata?.name !== 'string' || !obj.metadata.name) {
      throw new SmcError(
        'InvalidSpec',
        `${file}: document ${i + 1} (${obj.kind}): metadata.name is required`,
      );
    }
    out.push({ obj, file });
  }
  return out;
}

function addTo(target: Record<string, unknown>, key: string, pairs: Record<string, string>): void {
  const current = target[key];
  target[key] = { ...(current && typeof current === 'object' ? current : {}), ...pairs };
}

function child(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = obj[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  obj[key] = created;
  return created;
}

function applyLabels(items: Item[], l: LabelsEntry, file: string): void {
  for (const { obj, file: from } of items) {
    addTo(obj.metadata, 'labels', l.pairs);
    if (!l.includeSelectors && !l.includeTemplates) continue;
    const spec = obj.spec as Record<string, unknown> | undefined;
    if (WORKLOADS.has(obj.kind)) {
      const s = child(obj, 'spec');
      if (l.includeSelectors) addTo(child(s, 'selector'), 'matchLabels', l.pairs);
      addTo(child(child(s, 'template'), 'metadata'), 'labels', l.pairs);
    } else if (obj.kind === 'Service') {
      if (l.includeSelectors) addTo(child(obj, 'spec'), 'selector', l.pairs);
    } else if (spec && ('selector' in spec || 'template' in spec || 'jobTemplate' in spec)) {
      throw new SmcError(
        'InvalidSpec',
        `${file}: labels with includeSelectors/includeTemplates on ${obj.kind} ${obj.metadata.name} (${from}) is not supported by msmctl install`,
      );
    }
  }
}

function applyNamespace(items: Item[], namespace: string, file: string): void {
  const namespaces = items.filter((i) => i.obj.kind === 'Namespace');
  if (namespaces.length > 1) {
    throw new SmcError(
      'InvalidSpec',
      `${file}: namespace ${namespace} would give ${namespaces.length} Namespace objects the same name`,
    );
  }
  // ServiceAccounts as they were named before the move: subjects that point at one of them follow it.
  const accounts = new Set(
    items
      .filter((i) => i.obj.kind === 'ServiceAccount')
      .map((i) => `${i.obj.metadata.namespace ?? 'default'}/${i.obj.metadata.name}`),
  );
  for (const { obj, file: from } of items) {
    if (obj.kind === 'Namespace') obj.metadata.name = namespace;
    else if (NAMESPACED.has(obj.kind)) obj.metadata.namespace = namespace;
    else if (!CLUSTER_SCOPED.has(obj.kind)) {
      throw new SmcError(
        'InvalidSpec',
        `${from}: kind ${obj.kind} is not supported by msmctl install (its scope is unknown)`,
      );
    }
    if (
      obj.kind === 'CustomResourceDefinition' &&
      (obj.spec as { conversion?: { webhook?: unknown } })?.conversion?.webhook
    ) {
      throw new SmcError(
        'InvalidSpec',
        `${from}: a CRD conversion webhook is not supported by msmctl install`,
      );
    }
    if (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') {
      for (const s of (obj.subjects ?? []) as { kind?: string; name?: string; namespace?: string }[]) {
        if (s.kind === 'ServiceAccount' && accounts.has(`${s.namespace ?? 'default'}/${s.name}`))
          s.namespace = namespace;
      }
    }
  }
}

function orderOf(kind: string): number {
  const first = ORDER_FIRST.indexOf(kind);
  if (first >= 0) return first;
  const last = ORDER_LAST.indexOf(kind);
  return last >= 0 ? ORDER_FIRST.length + 1 + last : ORDER_FIRST.length;
}

function compareLegacy(a: Manifest, b: Manifest): number {
  const byOrder = orderOf(a.kind) - orderOf(b.kind);
  if (byOrder) return byOrder;
  const ka = `${a.apiVersion}/${a.kind}`;
  const kb = `${b.apiVersion}/${b.kind}`;
  if (ka !== kb) return ka < kb ? -1 : 1;
  const na = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const nb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}
