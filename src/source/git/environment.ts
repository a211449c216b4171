/**
 * The environment one git invocation runs in: no system/global config, no prompts, only
 * http/https/ssh (`GIT_ALLOW_PROTOCOL`, so no `ext::`/`file://` tricks through `repoURL`),
 * `core.symlinks=false` (a symlink in the repository is checked out as a plain file, so it can never
 * point the renderer outside the tree), and credentials that never reach URLs, argv or `.git/config`:
 *  - HTTPS user/password or token: a `GIT_ASKPASS` helper script (in a private temp dir) prints them
 *    from environment variables of the git child process only; git asks for them only when the server
 *    challenges, and only for that server.
 *  - SSH: the private key goes to a 0600 temp file used through `GIT_SSH_COMMAND`
 *    (`IdentitiesOnly`, `BatchMode`), with `UserKnownHostsFile` + `StrictHostKeyChecking=yes` when
 *    known_hosts is given (or the system known_hosts otherwise); the temp dir is removed afterwards.
 * The context also lists the credential strings to scrub from git's output.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../../private-tmp.js';

export type GitCredentials =
  | { username: string; password: string }
  /** A token sent as the basic-auth password; username defaults to `x-access-token` (GitHub style). */
  | { token: string; username?: string }
  | {
      sshPrivateKey: string;
      /** known_hosts lines for the server; without them the system known_hosts is used (strict). */
      knownHosts?: string;
      /** Accept any host key (Argo's `insecure`); off by default. */
      insecureIgnoreHostKey?: boolean;
    };

export interface GitContext {
  env: NodeJS.ProcessEnv;
  extraEnvNames: string[];
  secrets: string[];
  dispose(): Promise<void>;
}

const ASKPASS = `#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "$SMC_GIT_USERNAME" ;;
  *) printf '%s\\n' "$SMC_GIT_PASSWORD" ;;
esac
`;

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function gitContext(
  credentials: GitCredentials | undefined,
  extraConfig: Record<string, string> = {},
  baseTmp?: string,
): Promise<GitContext> {
  // Private (0700), under SMC_PRIVATE_TMP_DIR unless the caller names a base; swept if we are killed.
  const dir = await makeTempDir('smc-gitcred-', baseTmp);
  const config: [string, string][] = [
    ['credential.helper', ''],
    ['core.symlinks', 'false'],
    ['core.hooksPath', '/dev/null'],
    ['protocol.version', '2'],
    ['advice.detachedHead', 'false'],
    ['init.defaultBranch', 'main'],
    ['core.logAllRefUpdates', 'false'],
    ['gc.auto', '256'],
    ...Object.entries(extraConfig),
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'http:https:ssh',
    // Empty: git asks no helper (and, with GIT_TERMINAL_PROMPT=0, fails with "terminal prompts
    // disabled"). Not `/bin/false`: the image has no coreutils, and git would first print
    // "cannot run /bin/false" into the error the user reads.
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes',
  };
  if (process.env.NO_PROXY ?? process.env.no_proxy)
    env.NO_PROXY = process.env.NO_PROXY ?? process.env.no_proxy;
  for (const k of [
    'HTTPS_PROXY',
    'https_proxy',
    'HTTP_PROXY',
    'http_proxy',
    'SSL_CERT_FILE',
    'GIT_SSL_CAINFO',
  ]) {
    if (process.env[k]) env[k] = process.env[k];
  }
  const extra: string[] = [];
  const secrets: string[] = [];
  try {
    if (credentials && 'sshPrivateKey' in credentials) {
      const key = path.join(dir, 'id');
      await writeFile(
        key,
        credentials.sshPrivateKey.endsWith('\n')
          ? credentials.sshPrivateKey
          : `${credentials.sshPrivateKey}\n`,
        {
          mode: 0o600,
        },
      );
      const opts = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none'];
      if (credentials.knownHosts) {
        const kh = path.join(dir, 'known_hosts');
        await writeFile(
          kh,
          credentials.knownHosts.endsWith('\n') ? credentials.knownHosts : `${credentials.knownHosts}\n`,
          {
            mode: 0o600,
          },
        );
        opts.push('-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=yes');
      } else if (credentials.insecureIgnoreHostKey) {
        opts.push('-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no');
      } else {
        opts.push('-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes');
      }
      env.GIT_SSH_COMMAND = ['ssh', ...opts].map((a) => (/^[\w./=-]+$/.test(a) ? a : shQuote(a))).join(' ');
      env.GIT_SSH_VARIANT = 'ssh';
      extra.push('GIT_SSH_COMMAND');
      secrets.push(
        ...credentials.sshPrivateKey.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----')),
      );
    } else if (credentials) {
      const username =
        'password' in credentials ? credentials.username : (credentials.username ?? 'x-access-token');
      const password = 'password' in credentials ? credentials.password : credentials.token;
      const script = path.join(dir, 'askpass.sh');
      await writeFile(script, ASKPASS, { mode: 0o700 });
      env.GIT_ASKPASS = script;
      env.SMC_GIT_USERNAME = username;
      env.SMC_GIT_PASSWORD = password;
      extra.push('GIT_ASKPASS', 'SMC_GIT_USERNAME', 'SMC_GIT_PASSWORD');
      if (password) secrets.push(password, encodeURIComponent(password));
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return {
    env,
    extraEnvNames: extra,
    secrets: secrets.filter((s) => s.length > 0),
    dispose: () => removeTempDir(dir),
  };
}
