/** The `local` store: a directory laid out like a mounted Kubernetes Secret. */
export { LocalDirStore, type LocalDirStoreOptions } from './store.js';
export { LOCAL_LIMITS, localNaming } from './naming.js';
