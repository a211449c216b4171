/**
 * A source hands the pipeline a directory tree to render. Local directories are used in place;
 * Flux artifacts and Argo checkouts (controller) are fetched into a cache first.
 */
export interface SourceCheckout {
  /** Absolute path of the tree's root. */
  root: string;
  /** Revision that identifies the content (git commit, artifact digest); undefined when unknown. */
  revision?: string;
  /** Human-readable description for messages (never contains credentials). */
  description: string;
  /**
   * Give a cached tree back once nothing reads it any more (Flux artifacts are reference-counted,
   * src/source/flux-artifact.ts); absent for trees that are never pruned underneath a reader.
   */
  release?(): void;
}
