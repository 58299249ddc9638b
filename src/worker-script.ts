/**
 * How to start a worker_threads Worker on one of our modules. The built daemon runs dist/…js;
 * tests and benches run the TypeScript sources through tsx, whose loader a Worker does not
 * inherit: the worker then registers it first.
 */
export function workerScript(moduleUrl: string, name: string): { script: URL | string; eval: boolean } {
  const fromSource = moduleUrl.endsWith('.ts');
  const url = new URL(fromSource ? `./${name}.ts` : `./${name}.js`, moduleUrl);
  if (!fromSource) return { script: url, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  return { script: `import(${JSON.stringify(api)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`, eval: true };
}
