// Builds sipedge's embedded pages from src/ into web/assets/, which is
// committed and embedded with go:embed, so that `go build` needs no node.
// web/assets_test.go (TestAssetsUpToDate) builds again into a temporary
// directory and fails when the bytes differ from the committed ones:
// after editing src/, run `make webphone` (or `node build.mjs`) and commit
// web/assets with the source.
//
//   node build.mjs [outdir]     (default: ../web/assets)
//
// To add a page: add its script and style to `entries` and its HTML to
// `copied` (one line each, e.g. 'selftest.js'); src/<name> is built to
// <outdir>/<name>. web/phone.go decides which files are served.
//
// The scripts are ES modules built with code splitting: what several
// entries import (JsSIP) goes once into a shared chunk,
// <outdir>/chunk-<hash>.js, which the entries import by relative path;
// the pages load only their entry (<script type="module" src="...">).
// The hash is esbuild's, of the chunk's content and its inputs' paths, so
// its name changes with JsSIP or esbuild, not between builds;
// web/phone.go serves every chunk-*.js of web/assets with both pages.
// Chunks of earlier builds left in outdir are removed.
import { mkdirSync, readFileSync, writeFileSync, copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

// Bundled and minified by esbuild: scripts with what they import, styles.
export const entries = [
  'phone.js',
  'phone.css',
  'selftest.js', 'selftest.css',
];

// Copied as they are.
export const copied = [
  'index.html',
  'selftest.html',
];

// The names of the shared chunks.
export const chunkNames = 'chunk-[hash]';
const chunkFile = /^chunk-[A-Za-z0-9_-]+\.js$/;

// The file that carries the licenses of the bundled npm packages (JsSIP
// and what it imports), which have no legal comments of their own.
export const licensesFile = 'third-party-licenses.txt';

// licenses returns the license texts of the packages under node_modules
// whose files the bundle holds (from esbuild's metafile), sorted by
// package name, so that the output is the same on every build.
function licenses(metafile) {
  const pkgs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = input.match(/(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) pkgs.add(m[1]);
  }
  const out = [];
  for (const pkg of [...pkgs].sort()) {
    const dir = join(here, 'node_modules', pkg);
    const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).sort().find((f) => /^licen[cs]e/i.test(f));
    if (!file) throw new Error(`${pkg}: no license file to ship with the bundle`);
    out.push(`==== ${pkg} ${version} (${license}) ====\n\n${readFileSync(join(dir, file), 'utf8').trim()}\n`);
  }
  return out.join('\n');
}

export async function build(dir) {
  const outdir = resolve(dir);
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: entries.map((e) => ({ in: join('src', e), out: e.replace(/\.[^.]+$/, '') })),
    outdir,
    entryNames: '[name]',
    chunkNames,
    bundle: true,
    splitting: true,
    // esbuild's [hash] covers the inputs' paths as well as the content:
    // take node_modules' paths as they are under webphone/, not where a
    // symlinked node_modules points, so that the chunk's name is the same
    // in every checkout.
    preserveSymlinks: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: false,
    // Our own sources have none; JsSIP's licence goes to licensesFile.
    legalComments: 'eof',
    charset: 'utf8',
    metafile: true,
    logLevel: 'warning',
  });
  for (const f of copied) {
    const src = join(here, 'src', f);
    if (!existsSync(src)) throw new Error(`src/${f}: missing`);
    copyFileSync(src, join(outdir, f));
  }
  writeFileSync(join(outdir, licensesFile), licenses(result.metafile));
  // Chunks this build did not write are from an earlier one.
  const written = new Set(Object.keys(result.metafile.outputs).map((o) => relative(outdir, join(here, o))));
  for (const f of readdirSync(outdir)) {
    if (chunkFile.test(f) && !written.has(f)) rmSync(join(outdir, f));
  }
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await build(process.argv[2] || join(here, '..', 'web', 'assets'));
  console.log(`built into ${out}`);
}
