/** GitOps peers for tests: a Flux-compatible artifact server, a Git smart-HTTP server, and helpers for Flux sources / Argo CD Applications. */
export * from './artifact-server.js';
export * from './git-server.js';
export * from './sources.js';
