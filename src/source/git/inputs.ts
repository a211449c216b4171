/**
 * What a user names for a Git source — `repoURL`, `targetRevision`, `path` — checked before git
 * runs: only http(s)/ssh URLs without credentials in them, revisions that cannot be read as options
 * or ref tricks, paths that stay inside the repository; and the URL as it may be shown.
 */
import { SmcError } from '../../errors.js';

/** A repository URL safe to show: no userinfo, query or fragment. */
export function displayRepoURL(repoURL: string): string {
  const scp = /^([^@/\s]+@)?([^:/\s]+):(?!\/\/)(.*)$/.exec(repoURL);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(repoURL)) return `${scp[2]}:${scp[3]}`;
  try {
    const u = new URL(repoURL);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid repoURL>';
  }
}

export function validateRepoURL(repoURL: string): void {
  const shown = displayRepoURL(repoURL);
  if (repoURL.startsWith('-') || /\s/.test(repoURL)) {
    throw new SmcError('InvalidSpec', `repoURL ${shown} is not a valid Git URL`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repoURL)) {
    let u: URL;
    try {
      u = new URL(repoURL);
    } catch {
      throw new SmcError('InvalidSpec', `repoURL ${shown} is not a valid URL`);
    }
    if (!['http:', 'https:', 'ssh:'].includes(u.protocol)) {
      throw new SmcError('InvalidSpec', `repoURL ${shown}: only https, http and ssh URLs are supported`);
    }
    if (u.password || (u.username && u.protocol !== 'ssh:')) {
      throw new SmcError(
        'InvalidSpec',
        `repoURL ${shown} carries credentials; put them in gitCredentials / a repository Secret instead`,
      );
    }
    return;
  }
  if (!/^[^@/\s]+@[^:/\s]+:/.test(repoURL)) {
    throw new SmcError(
      'InvalidSpec',
      `repoURL ${shown} is not a valid Git URL (https, http, ssh or user@host:path)`,
    );
  }
}

export function validateRevision(rev: string): void {
  if (
    rev === '' ||
    rev.startsWith('-') ||
    /[\s~^:?*[\\\0]|\.\.|@\{|\/\/|\/$|\.lock$/.test(rev) ||
    rev.length > 255
  ) {
    throw new SmcError(
      'InvalidSpec',
      `targetRevision ${JSON.stringify(rev.slice(0, 100))} is not a valid Git revision`,
    );
  }
}

/** Normalise Argo `path`: relative, no `..`. '' for the root. */
export function checkPath(p: string | undefined): string {
  const raw = (p ?? '').trim();
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) {
    throw new SmcError(
      'InvalidSpec',
      `source path ${JSON.stringify(raw)} must be relative to the repository root`,
    );
  }
  const parts = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) {
    throw new SmcError('InvalidSpec', `source path ${JSON.stringify(raw)} must not contain '..'`);
  }
  return parts.join('/');
}
