/**
 * Names that make up the public API of the controller: the resource identity and the annotations and
 * labels users (and other controllers) put on objects. Everything else in `src/api` derives from these.
 */
export const API_GROUP = 'secret-management.octopilot.io';
export const API_VERSION_NAME = 'v1beta1';
/** `apiVersion` of a SecretManagerConfig object. */
export const API_VERSION = `${API_GROUP}/${API_VERSION_NAME}`;
export const KIND = 'SecretManagerConfig';
export const LIST_KIND = 'SecretManagerConfigList';
export const PLURAL = 'secretmanagerconfigs';
export const SINGULAR = 'secretmanagerconfig';
export const SHORT_NAMES = ['smc'] as const;
/** `metadata.name` of the CustomResourceDefinition. */
export const CRD_NAME = `${PLURAL}.${API_GROUP}`;

/** Controller-wide defaults that the schema refers to. */
export const DEFAULT_SETTINGS_CONFIGMAP = 'secret-manager-controller-config';

/** Annotations and labels the controller reads or writes (docs/crd-reference.md, docs/architecture.md, docs/hot-reload.md). */
export const ANNOTATIONS = {
  /** Any new value forces an immediate reconcile; the handled value lands in `status.lastHandledReconcileAt`. */
  reconcile: `${API_GROUP}/reconcile`,
  /** Flux's equivalent of `reconcile`, honoured the same way. */
  fluxRequestedAt: 'reconcile.fluxcd.io/requestedAt',
  /** `"true"` lets the SMC take over store entries that exist without ownership labels. */
  adopt: `${API_GROUP}/adopt`,
  /** On a workload: comma-separated SMC names whose changes reload it. */
  reload: `${API_GROUP}/reload`,
  /** On a workload: `restart` (default) | `evict` | `http` | `none` (docs/hot-reload.md). */
  reloadStrategy: `${API_GROUP}/reload-strategy`,
  /** On a workload: `<port>/<path>` of the pods' reload endpoint, for `reload-strategy: http`. */
  reloadHttp: `${API_GROUP}/reload-http`,
} as const;

export const LABELS = {
  /** Shard an SMC belongs to; a replica with a matching `shard_key` setting takes it. */
  shardKey: `sharding.${API_GROUP}/key`,
} as const;
