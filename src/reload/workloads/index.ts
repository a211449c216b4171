export * from './notifier.js';
export { KubeWorkloadApi, createWorkloadNotifier, fetchPost, windowFromEnv } from './kube.js';
