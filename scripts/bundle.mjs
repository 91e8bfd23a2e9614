// Builds a single-file program from tsc's output: node scripts/bundle.mjs ENTRY OUTFILE.
// The agent runs from this bundle because only a bundle can leave out what it never executes:
// - client-node's kubeconfig loader (config.js) imports its generated index for makeApiClient()
//   and node-fetch for Headers; both are pointed at small stand-ins (see each file), so every
//   generated API and model, node-fetch, whatwg-url and tr46 stay out;
// - what client-node and prom-client import for cases the agent does not meet (a proxy-url, an
//   azure or gcp auth-provider, prom-client's exemplars) is evaluated only when first used:
//   scripts/lazy/ has a stand-in for each, which requires the real module from node_modules when
//   called (the image ships them; left out of the bundle, they are 0.2 MB less source for V8 to
//   hold in every agent);
// - one copy of js-yaml (client-node imports its ESM build, the agent its CommonJS one);
// - no keepNames: it wraps every function expression in a call that sets its name each time
//   the function is created (0.6 % of a core in an idle agent of a 5,000-node cluster), and
//   nothing reads names esbuild could change (our errors set theirs explicitly);
// - the output is ASCII: one non-ASCII character in a comment makes V8 hold the whole source
//   as a two-byte string (twice the memory, for as long as the process lives);
// - whitespace and syntax minified, names kept (they are in logs and stack traces): V8 holds the
//   whole source for as long as the process lives, and the idle agent measured 2 MiB less RSS
//   with it (2.0 -> 1.3 MB of source; docs/benchmarks.md). Positions in stack traces point into
//   the minified file; the source map written next to it (esbuild follows tsc's maps) takes
//   them back to the TypeScript sources: node --enable-source-maps, or any source-map tool.
// test/cli checks the result.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: node scripts/bundle.mjs ENTRY OUTFILE');
  process.exit(2);
}

const CONFIG_JS = /@kubernetes[/\\]client-node[/\\]dist[/\\]config\.js$/;
const fromConfigJs = (args) => CONFIG_JS.test(args.importer);
/** Imports that load a stand-in of scripts/lazy/ instead: the package and who imports it. */
const lazy = [
  { name: 'socks-proxy-agent', file: 'socks-proxy-agent.mjs', importer: CONFIG_JS },
  { name: 'hpagent', file: 'hpagent.mjs', importer: CONFIG_JS },
  { name: 'jsonpath-plus', file: 'jsonpath-plus.mjs', importer: /@kubernetes[/\\]client-node[/\\]dist[/\\](azure|gcp)_auth\.js$/ },
  { name: '@opentelemetry/api', file: 'opentelemetry-api.mjs', importer: /prom-client[/\\]lib[/\\]metrics[/\\]processCpuTotal\.js$/ },
];
const standIns = {
  name: 'stand-ins',
  setup(build) {
    build.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
      fromConfigJs(args) ? { path: path.join(here, 'client-node-gen.mjs') } : undefined,
    );
    build.onResolve({ filter: /^node-fetch$/ }, (args) =>
      fromConfigJs(args) ? { path: path.join(here, 'node-fetch-headers.mjs') } : undefined,
    );
    for (const l of lazy) {
      const filter = new RegExp(`^${l.name.replace(/[/.]/g, '\\$&')}$`);
      build.onResolve({ filter }, (args) => {
        if (l.importer.test(args.importer)) return { path: path.join(here, 'lazy', l.file) };
        // The stand-in's own require: the real package stays in node_modules, out of the source V8 holds.
        if (path.dirname(args.importer) === path.join(here, 'lazy')) return { path: l.name, external: true };
        return undefined;
      });
    }
    build.onResolve({ filter: /^js-yaml$/ }, () => ({ path: path.join(here, '..', 'node_modules', 'js-yaml', 'dist', 'js-yaml.mjs') }));
  },
};

const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The AWS SDK (--disable-source-dest-check) is loaded from node_modules, and only on AWS nodes;
  // netlink (and its subpaths, src/dataplane/netlink-lib.ts) from there too: it finds its native
  // addon relative to its own files.
  external: ['netlink', '@aws-sdk/client-ec2'],
  logLevel: 'warning',
  plugins: [standIns],
  write: false,
  metafile: true,
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
});
for (const file of result.outputFiles) {
  const ascii = file.text.replace(/[^ -~\t\n\r]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  fs.writeFileSync(file.path, ascii, { mode: file.path.endsWith('.js') ? 0o755 : 0o644 });
}
if (process.env.BUNDLE_META) fs.writeFileSync(process.env.BUNDLE_META, JSON.stringify(result.metafile));
