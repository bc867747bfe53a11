// Render tokenised .seg text as HTML in Dark+ colours, with the diagnostics of
// `seg validate --format json` drawn as squiggles and messages (for docs screenshots).
//   node tools/render.js FILE.seg [DIAGNOSTICS.json] > out.html
const fs = require('fs');
const { tokenize } = require('./tokenize');

const THEME = [
  ['comment', '#6A9955'], ['string', '#CE9178'], ['constant.numeric', '#B5CEA8'],
  ['constant.language', '#569CD6'], ['keyword.other.unit', '#4EC9B0'], ['keyword.operator.logical', '#569CD6'],
  ['keyword.operator.text', '#C586C0'], ['keyword.operator', '#D4D4D4'], ['keyword.other.header', '#569CD6'],
  ['keyword.control', '#C586C0'], ['keyword.other', '#C586C0'], ['storage.type', '#569CD6'],
  ['support.function', '#DCDCAA'], ['entity.name.type', '#4EC9B0'], ['entity.name.function', '#DCDCAA'],
  ['entity.name', '#9CDCFE'], ['variable', '#9CDCFE'], ['punctuation', '#D4D4D4'],
];
const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const colour = (scopes) => {
  for (const scope of [...scopes].reverse()) for (const [prefix, c] of THEME) if (scope.startsWith(prefix)) return c;
  return '#D4D4D4';
};

async function main() {
  const [file, diagnosticsFile] = process.argv.slice(2);
  const text = fs.readFileSync(file, 'utf8');
  const diagnostics = diagnosticsFile ? JSON.parse(fs.readFileSync(diagnosticsFile, 'utf8')).diagnostics : [];
  const tokens = await tokenize(text);
  const lines = text.replace(/\n$/, '').split('\n');
  const html = lines.map((line, i) => {
    const marks = diagnostics.filter((d) => d.line === i + 1);
    const spans = tokens.filter((t) => t.line === i).map((t) => {
      const bad = marks.some((d) => t.start >= d.column - 1 && t.end <= d.end_column - 1);
      const style = `color:${colour(t.scopes)}${bad ? ';text-decoration:underline wavy #F14C4C' : ''}`;
      return `<span style="${style}">${escape(t.text)}</span>`;
    }).join('');
    const notes = marks.map((d) => `\n<span class="diag">${' '.repeat(d.column - 1)}${escape(`${d.severity} [${d.code}] ${d.message}${d.help ? ` — help: ${d.help}` : ''}`)}</span>`).join('');
    return spans + notes;
  });
  console.log(`<!doctype html><meta charset="utf-8"><body style="margin:0;background:#1E1E1E">
<style>.diag{color:#F14C4C;background:#3a1d1d}</style>
<pre style="font:15px/1.5 'DejaVu Sans Mono',monospace;color:#D4D4D4;padding:14px;margin:0">${html.join('\n')}</pre>`);
}

main();
