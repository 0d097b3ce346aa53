// Bundles the page harness (src/harness.js with JsSIP and SIP.js) with
// esbuild into a directory with index.html, which run.mjs serves.
//
//   node build.mjs [outdir]     (default: dist)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

export const indexHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>sipedge e2e phone</title></head>
<body><p id="who">sipedge e2e phone</p><script src="harness.js"></script></body></html>
`;

export async function build(outdir) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(here, 'src', 'harness.js')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    sourcemap: 'inline',
    outfile: join(outdir, 'harness.js'),
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'index.html'), indexHTML);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await build(process.argv[2] || join(here, 'dist'));
  console.log(`bundle in ${out}`);
}
