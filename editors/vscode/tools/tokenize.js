// Tokenise .seg text with the extension's TextMate grammar, as VS Code does
// (vscode-textmate + the oniguruma WASM build). Used by the tests and tools/render.js.
//   node tools/tokenize.js FILE.seg [--json]
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const GRAMMAR = path.join(__dirname, '..', 'syntaxes', 'seg.tmLanguage.json');

let loaded;
function loadGrammar() {
  if (!loaded) {
    const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm')).buffer;
    const onigLib = oniguruma.loadWASM(wasm).then(() => ({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }));
    const registry = new vsctm.Registry({
      onigLib,
      loadGrammar: async (scopeName) =>
        scopeName === 'source.seg' ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR) : null,
    });
    loaded = registry.loadGrammar('source.seg');
  }
  return loaded;
}

// [{line, start, end, text, scopes}] for every token of `text`
async function tokenize(text) {
  const grammar = await loadGrammar();
  const out = [];
  let stack = vsctm.INITIAL;
  text.split(/\r?\n/).forEach((line, i) => {
    const result = grammar.tokenizeLine(line, stack);
    for (const t of result.tokens) {
      out.push({ line: i, start: t.startIndex, end: t.endIndex, text: line.substring(t.startIndex, t.endIndex), scopes: t.scopes });
    }
    stack = result.ruleStack;
  });
  return out;
}

module.exports = { tokenize, loadGrammar };

if (require.main === module) {
  const [file, flag] = process.argv.slice(2);
  const text = fs.readFileSync(file, 'utf8');
  tokenize(text).then((tokens) => {
    if (flag === '--json') {
      console.log(JSON.stringify({ lines: text.split(/\r?\n/), tokens }));
      return;
    }
    for (const t of tokens) if (t.text.trim()) console.log(`${t.line}:${t.start}-${t.end} ${JSON.stringify(t.text).padEnd(24)} ${t.scopes.join(' ')}`);
  });
}
