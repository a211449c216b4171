/**
 * Where a reconcile's files come from (docs/architecture.md, "The controller"): a Flux source's
 * artifact, or an Argo CD Application's Git source at the commit its remote names — a revision and
 * how to fetch it, or the value-free reason why not.
 */
import type { SecretManagerConfigSpec } from '../../api/index.js';
import { specIntervals } from '../../api/index.js';
import { type ErrorCode, SmcError, classifyError } from '../../errors.js';
import type { GitCredentials } from '../../source/argo-git.js';
import type { SourceCheckout } from '../../source/source.js';
import { gitSourceKey, selectArgoGitSource } from './argo-source.js';
import { effectivePullIntervalMs, nextPullInMs, pullDue } from './git-pulls.js';
import type { ArgoWorld, FluxSourceObject, ReconcileWorld } from '../reconcile.js';
import type { ReconcileVerdict } from '../status.js';

/** `Ready` condition of a Flux source: ready, with a value-free reason when not. */
export function fluxSourceReadiness(src: FluxSourceObject | undefined): {
  ready: boolean;
  message: string;
} {
  if (!src) return { ready: false, message: 'not found' };
  const cond = src.status?.conditions?.find((c) => c.type === 'Ready');
  if (!src.status?.artifact) return { ready: false, message: cond?.message ?? 'no artifact yet' };
  if (cond && cond.status === 'False' && !src.status.artifact)
    return { ready: false, message: cond.message ?? 'not ready' };
  return { ready: true, message: 'ready' };
}

type FailedVerdict = Extract<ReconcileVerdict, { kind: 'failed' }>;

/** Where this reconcile's files come from: a revision and how to fetch it, or why not. */
export type SourcePlan = (
  { failed: FailedVerdict } | { revision: string; fetch: () => Promise<SourceCheckout> }
) & {
  /** Argo sources: time to the next `git ls-remote`. */
  pullInMs?: number;
  /** A value-free note for the status description (suspendGitPulls). */
  note?: string;
};

function sourceFailure(reason: ErrorCode, message: string, stalled: boolean): { failed: FailedVerdict } {
  return { failed: { kind: 'failed', reason, message, stalled, sourceProblem: true } };
}

/** The referenced source does not exist (yet): say what the SMC waits for; retried, and its creation triggers a reconcile. */
function sourceNotFound(sourceName: string): { failed: FailedVerdict } {
  return sourceFailure(
    'SourceNotFound',
    `waiting for ${sourceName}: not found (create it, or fix spec.sourceRef)`,
    false,
  );
}

/** A Flux source: its artifact (suspending or resuming the source for `suspendGitPulls` first). */
export async function fluxSourcePlan(
  world: ReconcileWorld,
  spec: SecretManagerConfigSpec,
  sourceName: string,
): Promise<SourcePlan> {
  const note = await world.suspendFluxSource?.(spec.suspendGitPulls);
  const readiness = fluxSourceReadiness(world.source);
  const artifact = world.source?.status?.artifact;
  if (!readiness.ready || !artifact) {
    return {
      ...(world.source
        ? sourceFailure('SourceNotReady', `${sourceName}: ${readiness.message}`, false)
        : sourceNotFound(sourceName)),
      note,
    };
  }
  return {
    revision: artifact.revision ?? artifact.digest ?? artifact.url,
    fetch: () => world.fetchArtifact(artifact, sourceName),
    note,
  };
}

/**
 * An Argo CD Application: its Git source's commit — asked from the remote (`git ls-remote`) when a
 * pull is due (`gitRepositoryPullInterval`, or `forcedPull`), else the last pull's answer — and a
 * fetch of exactly that commit. Credentials are read only when the remote is contacted.
 */
export async function argoSourcePlan(
  argo: ArgoWorld | undefined,
  spec: SecretManagerConfigSpec,
  sourceName: string,
  now: number,
  forcedPull: boolean,
): Promise<SourcePlan> {
  if (!argo)
    return sourceFailure('UnsupportedSource', `${sourceName}: Argo CD sources are not available here`, true);
  if (!argo.application) return sourceNotFound(sourceName);
  const src = selectArgoGitSource(argo.application);
  if (!src) {
    return sourceFailure(
      'UnsupportedSource',
      `${sourceName}: has no Git source (spec.source / spec.sources[] with a repoURL and no chart)`,
      true,
    );
  }
  const intervalMs = effectivePullIntervalMs(specIntervals(spec).gitPullMs, argo.minPullIntervalMs);
  const suspended = spec.suspendGitPulls;
  const note = suspended ? 'periodic Git pulls are suspended (spec.suspendGitPulls)' : undefined;
  await argo.pullsSuspended?.(suspended);
  const sourceKey = gitSourceKey(src);
  let credentials: Promise<GitCredentials | undefined> | undefined;
  const creds = () => (credentials ??= argo.credentials(src.repoURL));
  let last = argo.lastPull;
  try {
    if (pullDue({ last, sourceKey, now, intervalMs, suspended, forced: forcedPull })) {
      last = { sourceKey, revision: await argo.lsRemote(src, await creds()), at: now };
      argo.recordPull(last);
    }
  } catch (e) {
    const c = classifyError(e);
    return {
      failed: { kind: 'failed', ...c, message: `${sourceName}: ${c.message}`, sourceProblem: true },
      pullInMs: nextPullInMs(last, now, intervalMs, suspended),
      note,
    };
  }
  const revision = last!.revision;
  return {
    revision,
    fetch: async () => {
      try {
        return await argo.fetch(src, revision, await creds());
      } catch (e) {
        if (e instanceof SmcError) throw new SmcError(e.code, `${sourceName}: ${e.message}`);
        throw e;
      }
    },
    pullInMs: nextPullInMs(last, now, intervalMs, suspended),
    note,
  };
}

/**
 * Where this reconcile's files come from, by `spec.sourceRef.kind`. `forcedPull` (a reconcile
 * request, a spec change or a forced run) makes an Argo CD source ask its remote at once.
 */
export function planSource(
  world: ReconcileWorld,
  spec: SecretManagerConfigSpec,
  sourceName: string,
  now: number,
  forcedPull: boolean,
): Promise<SourcePlan> {
  return spec.sourceRef.kind === 'Application'
    ? argoSourcePlan(world.argo, spec, sourceName, now, forcedPull)
    : fluxSourcePlan(world, spec, sourceName);
}
