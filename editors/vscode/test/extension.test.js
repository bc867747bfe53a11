// The extension's bundle loads (with a stand-in for the `vscode` module, which only
// exists inside VS Code), and its manifest points at files that exist.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Module = require('module');

const HERE = path.join(__dirname, '..');

test('the manifest names files that exist, and snippets for each kind', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8'));
  const [language] = manifest.contributes.languages;
  assert.deepStrictEqual(language.extensions, ['.seg']);
  for (const file of [language.configuration, manifest.contributes.grammars[0].path, manifest.contributes.snippets[0].path]) {
    assert.ok(fs.existsSync(path.join(HERE, file)), file);
  }
  const snippets = JSON.parse(fs.readFileSync(path.join(HERE, 'snippets', 'seg.json'), 'utf8'));
  assert.deepStrictEqual(Object.values(snippets).map((s) => s.prefix).sort(), ['classifier', 'measure', 'segment', 'sequence']);
  assert.strictEqual(manifest.contributes.configuration.properties['segdsl.path'].default, 'seg');
});

test('the bundled client loads and exports activate/deactivate', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seg-ext-')), 'extension.js');
  require('esbuild').buildSync({
    entryPoints: [path.join(HERE, 'extension.js')], bundle: true, outfile: out,
    external: ['vscode'], format: 'cjs', platform: 'node', target: 'node18', logLevel: 'silent',
  });
  const stub = new Proxy(function () {}, { get: (t, k) => (k === 'then' ? undefined : stub), apply: () => stub, construct: () => stub });
  const original = Module._load;
  Module._load = function (request, ...rest) { return request === 'vscode' ? stub : original.call(this, request, ...rest); };
  try {
    const extension = require(out);
    assert.strictEqual(typeof extension.activate, 'function');
    assert.strictEqual(typeof extension.deactivate, 'function');
  } finally {
    Module._load = original;
  }
});
