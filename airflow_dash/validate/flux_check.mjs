// Semantic check of Flux scripts with @influxdata/flux-lsp-browser, in plain Node (>= 18).
//
// Usage: node flux_check.mjs <node_modules dir> [warm-up script], then one batch per line on stdin, until it closes:
//   stdin:  {"scripts": ["from(...)", ...], "prelude": "v = {...}"}   (or a bare JSON array of scripts)
//   stdout: [[{"message": "...", "line": 1, "column": 5}, ...], ...]   one line per batch, one list per
//           script, errors only (from the language server's diagnostics)
//   or:     {"scripts": [...], "valid": true}  ->  [true, false, ...]   whether each script passes flux's
//           own semantic check (is_valid_flux: types, builtins), without the language server: the fast pass
// The warm-up script, if given, is checked (its answer dropped) as soon as the wasm is loaded, while this
// process waits for its first batch: flux's first check pays for one-time set-up.
// Exit 3 with {"unavailable": "..."} on stdout when node or the package cannot be used.
//
// The package is a wasm-bindgen build for bundlers: its _bg.js does `import * as wasm from "./..._bg.wasm"`,
// which Node cannot import. We load _bg.js with that import swapped for a setter, instantiate the wasm
// ourselves with _bg.js as its import object, then hand the exports over (memory views need them).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";

// Liftoff (V8's baseline wasm compiler) only: a build checks a few dozen to a few hundred scripts, too few
// for the optimizing tier to pay back its compile time, which competes with the build for the CPU.
// Measured with the language server on the bundled dashboards' 40 shapes: 0.18 s of CPU instead of 0.29 s,
// and no slower on 1,060 scripts. Set before the wasm is compiled; a V8 without the flag ignores it.
setFlagsFromString("--liftoff-only");

const ERROR = 1; // LSP DiagnosticSeverity: 1 error, 2 warning, 3 information, 4 hint
const PACKAGE = "@influxdata/flux-lsp-browser";
const WASM_IMPORT = "import * as wasm from './flux-lsp-browser_bg.wasm';";
const MEMORY_VIEWS = /\ncachedInt32Memory0 = new Int32Array\(wasm\.memory\.buffer\);\ncachedUint8Memory0 = new Uint8Array\(wasm\.memory\.buffer\);\s*$/;

function unavailable(message) {
  process.stdout.write(JSON.stringify({ unavailable: message }));
  process.exit(3);
}

async function loadFluxLsp(nodeModules) {
  const dir = join(nodeModules, PACKAGE);
  let source;
  try {
    source = await readFile(join(dir, "flux-lsp-browser_bg.js"), "utf8");
  } catch {
    unavailable(`${PACKAGE} not found in ${nodeModules}`);
  }
  if (!source.includes(WASM_IMPORT) || !MEMORY_VIEWS.test(source)) {
    unavailable(`${PACKAGE} has an unexpected layout (tested with 0.8.40)`);
  }
  source = source
    .replace(MEMORY_VIEWS, "\n")
    .replace(WASM_IMPORT, `let wasm;
export function __airflowDashSetWasm(exports) {
  wasm = exports;
  cachedInt32Memory0 = new Int32Array(wasm.memory.buffer);
  cachedUint8Memory0 = new Uint8Array(wasm.memory.buffer);
}`);
  const bindings = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  const bytes = await readFile(join(dir, "flux-lsp-browser_bg.wasm"));
  const { instance } = await WebAssembly.instantiate(bytes, { "./flux-lsp-browser_bg.js": bindings });
  bindings.__airflowDashSetWasm(instance.exports);
  return bindings;
}

async function startServer(bindings) {
  const server = new bindings.Lsp();
  const diagnostics = new Map();
  server.onMessage((raw) => {
    const message = JSON.parse(raw);
    if (message.method === "textDocument/publishDiagnostics") {
      diagnostics.set(message.params.uri, message.params.diagnostics);
    }
  });
  server.run(); // runs for the server's lifetime; never awaited
  const send = (message) => server.send(JSON.stringify({ jsonrpc: "2.0", ...message }));
  await send({ id: 1, method: "initialize", params: { capabilities: {}, processId: null, rootUri: null } });
  await send({ method: "initialized", params: {} });
  return { send, diagnostics };
}

// Each script gets its own directory (= Flux package) so scripts cannot see each other's variables.
// The prelude (Grafana's `v` record) is a second file of that package: the script's line numbers stay
// its own, and the prelude's lint ("Avoid using `v` as an identifier name") lands on the prelude file.
async function checkScript({ send, diagnostics }, index, script, prelude) {
  const dir = `file:///airflow-dash/query-${index}`;
  const preludeUri = `${dir}/grafana-prelude.flux`;
  const scriptUri = `${dir}/query.flux`;
  const open = (uri, text) =>
    send({ method: "textDocument/didOpen", params: { textDocument: { uri, languageId: "flux", version: 1, text } } });
  if (prelude) await open(preludeUri, prelude);
  await open(scriptUri, script);
  // The server publishes synchronously while handling didOpen, so the map is current here.
  const found = (diagnostics.get(scriptUri) || [])
    .filter((d) => d.severity === undefined || d.severity === ERROR)
    .map((d) => ({ message: d.message, line: d.range.start.line + 1, column: d.range.start.character + 1 }));
  for (const uri of prelude ? [scriptUri, preludeUri] : [scriptUri]) {
    await send({ method: "textDocument/didClose", params: { textDocument: { uri } } });
  }
  diagnostics.delete(scriptUri);
  diagnostics.delete(preludeUri);
  return found;
}

async function main() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 18) unavailable(`node ${process.versions.node} is too old: install Node.js >= 18`);
  const nodeModules = process.argv[2];
  if (!nodeModules) unavailable("usage: node flux_check.mjs <node_modules dir>, batches of scripts as JSON lines on stdin");
  // The wasm logs through console.*; keep stdout for our JSON only.
  console.log = console.info = console.debug = console.warn = (...args) => process.stderr.write(args.join(" ") + "\n");
  // Load and instantiate the wasm while the scripts arrive: a build can start this process before it has
  // compiled the queries it will send.
  const warmUp = process.argv[3];
  const bindings = loadFluxLsp(nodeModules).then((loaded) => {
    if (warmUp) {
      try {
        loaded.is_valid_flux(warmUp);
      } catch {} // only a warm-up: a real failure shows on the first batch
    }
    return loaded;
  });
  bindings.catch(() => {}); // a failure is reported where it is awaited, below
  let server; // the language server, started for the first batch that needs its diagnostics
  const checker = async () => {
    const loaded = await bindings;
    return { bindings: loaded, server: () => (server ??= startServer(loaded)) };
  };
  process.stdin.setEncoding("utf8"); // decodes characters split across chunks
  let parts = []; // the line being received, in chunks (batches can be megabytes)
  for await (const chunk of process.stdin) {
    let start = 0;
    let newline;
    while ((newline = chunk.indexOf("\n", start)) >= 0) {
      parts.push(chunk.slice(start, newline));
      const line = parts.join("");
      parts = [];
      if (line.trim()) await answer(await checker(), line);
      start = newline + 1;
    }
    if (start < chunk.length) parts.push(chunk.slice(start));
  }
  const last = parts.join("");
  if (last.trim()) await answer(await checker(), last);
}

// Package directories are numbered across batches, so no script ever shares one with an earlier script.
let nextPackage = 0;

async function answer({ bindings, server }, line) {
  const input = JSON.parse(line);
  const scripts = Array.isArray(input) ? input : input.scripts;
  const prelude = Array.isArray(input) ? "" : input.prelude || "";
  const results = [];
  if (input.valid) {
    for (const script of scripts) {
      try {
        results.push(bindings.is_valid_flux(script));
      } catch {
        results.push(false); // not known valid: the exact check, which reports what is wrong, decides
      }
    }
  } else {
    const ready = await server();
    for (const script of scripts) results.push(await checkScript(ready, nextPackage++, script, prelude));
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
