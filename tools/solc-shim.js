#!/usr/bin/env node
// A native-looking `solc` command line backed by the npm `solc` package (soljson).
//
// Installed as tools/bin/solc by scripts/setup. It answers the subset of the native
// command line that our tools use:
//
//   solc --version                       native-style version banner (forge parses it)
//   solc [flags] --standard-json         standard JSON from stdin to stdout (forge)
//   solc [flags] --bin - | FILE...       "======= <src>:<Name> =======\nBinary:\n<hex>"
//                                        (snark-verifier's compile_solidity)
//
// Accepted flags: --base-path DIR, --include-path DIR (repeatable), --allow-paths LIST
// (comma separated), --optimize, --optimize-runs N, --evm-version V, --via-ir.
// --base-path and --include-path are search roots for imports, like native solc;
// --allow-paths entries and the current directory are also searched, as a fallback.
//
// stdout is written synchronously: an asynchronous write followed by process.exit()
// truncates output beyond the pipe buffer (64 KiB).
'use strict';

const fs = require('fs');
const path = require('path');

const NODE_MODULES = path.join(__dirname, 'node_modules');

function die(msg, code = 1) {
  writeAll(2, `solc-shim: ${msg}\n`);
  process.exit(code);
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function writeAll(fd, data) {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        sleepMs(2);
        continue;
      }
      if (e.code === 'EPIPE') return;
      throw e;
    }
  }
}

function readAllSync(fd) {
  const chunks = [];
  const chunk = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        sleepMs(2);
        continue;
      }
      if (e.code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function loadSolc() {
  try {
    return require(path.join(NODE_MODULES, 'solc'));
  } catch (e) {
    die(`cannot load the npm package 'solc' from ${NODE_MODULES} (run scripts/setup): ${e.message}`);
  }
}

// "0.8.30+commit.73712a01.Emscripten.clang" -> "0.8.30+commit.73712a01.Linux.g++"
function nativeVersion(solc) {
  const v = solc.version();
  const m = /^(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?\+commit\.[0-9a-f]+)/.exec(v);
  return m ? `${m[1]}.Linux.g++` : v;
}

function parseArgs(argv) {
  const opts = {
    mode: null,
    basePath: null,
    includePaths: [],
    allowPaths: [],
    optimize: false,
    optimizeRuns: null,
    evmVersion: null,
    viaIR: false,
    inputs: [],
  };
  const valueOf = (i, flag) => {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    if (eq >= 0) return [arg.slice(eq + 1), i];
    if (i + 1 >= argv.length) die(`missing value for ${flag}`);
    return [argv[i + 1], i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const flag = arg.startsWith('--') ? arg.split('=')[0] : arg;
    let v;
    switch (flag) {
      case '--version':
      case '-v':
        opts.mode = opts.mode || 'version';
        break;
      case '--help':
      case '-h':
        opts.mode = opts.mode || 'help';
        break;
      case '--standard-json':
        opts.mode = 'standard-json';
        break;
      case '--bin':
        opts.mode = 'bin';
        break;
      case '--base-path':
        [v, i] = valueOf(i, flag);
        opts.basePath = v;
        break;
      case '--include-path':
        [v, i] = valueOf(i, flag);
        opts.includePaths.push(v);
        break;
      case '--allow-paths':
        [v, i] = valueOf(i, flag);
        opts.allowPaths.push(...v.split(',').filter(Boolean));
        break;
      case '--optimize':
        opts.optimize = true;
        break;
      case '--optimize-runs':
        [v, i] = valueOf(i, flag);
        opts.optimizeRuns = parseInt(v, 10);
        if (!Number.isFinite(opts.optimizeRuns)) die(`bad --optimize-runs value: ${v}`);
        break;
      case '--evm-version':
        [v, i] = valueOf(i, flag);
        opts.evmVersion = v;
        break;
      case '--via-ir':
      case '--experimental-via-ir':
        opts.viaIR = true;
        break;
      case '--no-color':
      case '--color':
        break;
      case '-':
        opts.inputs.push('-');
        break;
      default:
        if (arg.startsWith('-')) die(`unsupported option: ${arg}`);
        opts.inputs.push(arg);
    }
  }
  return opts;
}

// Import resolution: like native solc, try the base path and the include paths; then the
// allow-paths entries and the current directory as a fallback. Absolute paths are read as is.
function makeImportCallback(opts) {
  const roots = [];
  const add = (p) => {
    if (p === null || p === undefined) return;
    const abs = path.resolve(p === '' ? '.' : p);
    if (!roots.includes(abs)) roots.push(abs);
  };
  add(opts.basePath);
  opts.includePaths.forEach(add);
  opts.allowPaths.forEach(add);
  add(process.cwd());
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const c of candidates) {
      try {
        if (fs.statSync(c).isFile()) return { contents: fs.readFileSync(c, 'utf8') };
      } catch (_) {
        // try the next root
      }
    }
    return { error: `File not found. Searched: ${candidates.join(', ')}` };
  };
}

function standardJson(solc, opts) {
  const input = readAllSync(0);
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  writeAll(1, output.endsWith('\n') ? output : output + '\n');
  return 0;
}

function bin(solc, opts) {
  if (opts.inputs.length === 0) die('--bin needs a source: "-" for stdin, or file paths');
  const sources = {};
  for (const inp of opts.inputs) {
    if (inp === '-') sources['<stdin>'] = { content: readAllSync(0) };
    else {
      try {
        sources[inp] = { content: fs.readFileSync(inp, 'utf8') };
      } catch (e) {
        die(`cannot read ${inp}: ${e.message}`);
      }
    }
  }
  const settings = {
    optimizer: { enabled: opts.optimize, runs: opts.optimizeRuns === null ? 200 : opts.optimizeRuns },
    outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  if (opts.viaIR) settings.viaIR = true;
  const input = { language: 'Solidity', sources, settings };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(opts) }));

  let failed = false;
  for (const err of out.errors || []) {
    writeAll(2, (err.formattedMessage || err.message) + '\n');
    if (err.severity === 'error') failed = true;
  }
  if (failed) return 1;

  // Native solc prints contracts sorted by "<source>:<name>".
  const entries = [];
  for (const [src, contracts] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      entries.push([`${src}:${name}`, ((c.evm || {}).bytecode || {}).object || '']);
    }
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let text = '';
  for (const [id, hex] of entries) text += `\n======= ${id} =======\nBinary:\n${hex}\n`;
  writeAll(1, text);
  return 0;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.mode === 'help' || opts.mode === null) {
    writeAll(
      opts.mode === 'help' ? 1 : 2,
      'solc (npm soljson shim)\nUsage: solc --version | [--base-path D] [--include-path D] [--allow-paths L] ' +
        '--standard-json | [--optimize] [--optimize-runs N] [--evm-version V] [--via-ir] --bin (- | FILE...)\n',
    );
    return opts.mode === 'help' ? 0 : 1;
  }
  const solc = loadSolc();
  if (opts.mode === 'version') {
    writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${nativeVersion(solc)}\n`);
    return 0;
  }
  if (opts.mode === 'standard-json') return standardJson(solc, opts);
  return bin(solc, opts);
}

process.exit(main());
