export * from './notifier.js';
export { KubeWorkloadApi, createWorkloadNotifier, fetchPost } from './kube.js';
