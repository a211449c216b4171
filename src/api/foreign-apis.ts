/**
 * The API groups of the other controllers this project reads or writes: Flux's source and
 * notification APIs and Argo CD's (Applications, and Argo Rollouts for workload reload). One
 * definition each; their versions are chosen where they are used (src/controller/flux-versions.ts).
 */
export const FLUX_SOURCE_GROUP = 'source.toolkit.fluxcd.io';
export const FLUX_NOTIFICATION_GROUP = 'notification.toolkit.fluxcd.io';
/** Argo CD Applications and Argo Rollouts share the group and its version. */
export const ARGO_GROUP = 'argoproj.io';
export const ARGO_VERSION = 'v1alpha1';
