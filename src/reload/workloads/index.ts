export * from './notifier.js';
export { type Clock } from './pending.js';
export * from './consumption.js';
export * from './change-set.js';
export * from './rate-limit.js';
export * from './evict.js';
export * from './auto.js';
export * from './auto-report.js';
export * from './policy.js';
export {
  KubeWorkloadApi,
  WorkloadStatusWriter,
  createWorkloadNotifier,
  createWorkloadReload,
  fetchPost,
} from './kube.js';
