/**
 * client-node's KubeConfig module (`dist/config.js`), loaded without the generated API of every
 * Kubernetes group.
 *
 * Why: `config.js` imports two names — `createConfiguration` and `ServerConfiguration` — from
 * `./gen/index.js`, and that module re-exports every model and every API group of Kubernetes
 * (~870 modules, 16 MB of source that V8 keeps); importing KubeConfig alone cost ~45 MiB of
 * resident memory (docs/performance.md, "Memory"). A resolve hook (`module.registerHooks`, Node
 * ≥ 22.15, this package's `engines`) gives `config.js`, and only it, a two-line module that
 * re-exports those names from the generated modules that define them (`gen/configuration.js`,
 * `gen/servers.js`): the same module instances any other importer of `gen/index.js` gets, so a
 * process that also loads the whole package (msmctl, tests) sees one KubeConfig, one
 * configuration. Nothing in node_modules is changed.
 *
 * If client-node's layout changes: a `config.js` that imports another name from `./gen/index.js`
 * fails to link at start ("does not provide an export named …"), never silently;
 * test/kube/client-node-layout.test.ts names the imports this relies on, and
 * test/kube/slim-load.test.ts fails when the generated API comes back into the controller.
 * `registerHooks` is "Stability: 1.1" in Node 22–26 (Node's replacement for `module.register`);
 * the same two tests would show a change to it.
 */
import { registerHooks } from 'node:module';

/** What `config.js` imports from `./gen/index.js`, and where those names are defined. */
export const SLIM_GEN_INDEX = `export { createConfiguration } from './configuration.js';
export { ServerConfiguration } from './servers.js';
`;

const SLIM_QUERY = '?smc-slim-config';
const CONFIG_MODULE = /\/@kubernetes\/client-node\/dist\/config\.js$/;

let redirected = 0;

/** How many times the hook gave `config.js` the slim module (1 once KubeConfig is loaded by it). */
export function slimConfigRedirects(): number {
  return redirected;
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (specifier !== './gen/index.js' || !CONFIG_MODULE.test(context.parentURL ?? '')) return resolved;
    redirected += 1;
    return { ...resolved, url: `${resolved.url}${SLIM_QUERY}` };
  },
  load(url, context, nextLoad) {
    if (!url.endsWith(SLIM_QUERY)) return nextLoad(url, context);
    return { format: 'module', source: SLIM_GEN_INDEX, shortCircuit: true };
  },
});

/*
 * Imported here, after the hook is in place: every static import of a module graph is resolved
 * before any of its modules runs, so a static import of config.js would not see the hook.
 */
export const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
export type KubeConfig = import('@kubernetes/client-node/dist/config.js').KubeConfig;
