/**
 * The kubelet's AtomicWriter volume layout, as far as it is the contract between the writer of a
 * secret directory (the local store, src/stores/local/) and its readers (the reload library,
 * src/reload/app/): the entries are links through `..data`, which points at the current
 * timestamped payload directory and is swapped in one rename.
 */
export const DATA_LINK = '..data';
