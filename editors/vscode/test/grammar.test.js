// The TextMate grammar against the language's own grammar (grammar/segdsl.lark):
// every keyword and every token class gets a scope, and every example file is
// highlighted without unscoped text. A keyword added to the Lark grammar without
// highlighting fails here.   node --test test/
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { tokenize } = require('../tools/tokenize');

const ROOT = path.join(__dirname, '..', '..', '..');
const LARK = fs.readFileSync(path.join(ROOT, 'grammar', 'segdsl.lark'), 'utf8')
  .split('\n').filter((line) => !line.trim().startsWith('//')).join('\n');

// every quoted word of the grammar ("segment", COUNT: "count", ...) and the words of
// regex terminals such as STARTS_WITH: /starts[ \t]+with(?!…)/
const KEYWORDS = [...new Set([
  ...[...LARK.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]),
  ...[...LARK.matchAll(/^[A-Z_]+(?:\.\d+)?:\s*\/([a-z]+)\[ \\t\]\+([a-z]+)/gm)].map((m) => `${m[1]} ${m[2]}`),
])].sort();
// every quoted symbol ("{", "<=", ...)
const WITHOUT_REGEXES = LARK.replace(/(^|[|:]\s*)\/(?:\\.|[^\/\n])+\/[a-z]*/gm, '$1');
const SYMBOLS = [...new Set([...WITHOUT_REGEXES.matchAll(/"([^a-z"\s]+)"/g)].map((m) => m[1]))].sort();
// terminals defined by a regular expression: each needs a sample below
const REGEX_TERMINALS = [...LARK.matchAll(/^([A-Z_]+)(?:\.\d+)?:(.*)$/gm)]
  .filter((m) => /(^|\|)\s*\//.test(m[2]) && !/^\s*\/[a-z]+\[ \\t\]\+[a-z]+/.test(m[2]))
  .map((m) => m[1]).sort();
const SAMPLES = {
  COMMENT: [['# a comment', 'comment.line']],
  DATE: [['2025-03-01', 'constant.numeric.date']],
  DURATION: [['30d', 'constant.numeric.duration'], ['45min', 'constant.numeric.duration'], ['6mo', 'constant.numeric.duration']],
  NAME: [['cart_adds', 'variable.other'], ['`odd name`', 'variable.other.quoted']],
  NUMBER: [['12.5', 'constant.numeric'], ['7', 'constant.numeric']],
  PERCENT: [['80%', 'constant.numeric.percent']],
  STRING: [['"a \\" b"', 'string.quoted.double'], ["'x'", 'string.quoted.single']],
  TIMESTAMP: [['2025-03-01T09:30:00Z', 'constant.numeric.timestamp'], ['2025-03-01T09:30', 'constant.numeric.timestamp']],
};
const KEYWORD_SCOPES = /^(keyword\.|storage\.type|support\.function|constant\.language)/;

const innermost = (token) => token.scopes[token.scopes.length - 1];
const visible = (tokens) => tokens.filter((t) => t.text.trim());

test('the grammar file holds keywords and terminals (the test reads it right)', () => {
  assert.ok(KEYWORDS.includes('segment') && KEYWORDS.includes('starts with') && KEYWORDS.length > 50);
  assert.ok(SYMBOLS.includes('{') && SYMBOLS.includes('<='));
});

test('every keyword of the Lark grammar is highlighted as a keyword', async () => {
  for (const keyword of KEYWORDS) {
    const tokens = visible(await tokenize(`${keyword}`));
    assert.strictEqual(tokens.map((t) => t.text).join(' ').replace(/\s+/g, ' '), keyword, keyword);
    for (const token of tokens) assert.match(innermost(token), KEYWORD_SCOPES, `keyword ${keyword}`);
  }
});

test('every symbol of the Lark grammar is an operator or punctuation', async () => {
  for (const symbol of SYMBOLS) {
    const tokens = visible(await tokenize(`a ${symbol} b`));
    const token = tokens.find((t) => t.text === symbol);
    assert.ok(token, `symbol ${symbol} is one token`);
    assert.match(innermost(token), /^(keyword\.operator|punctuation)/, `symbol ${symbol}`);
  }
});

test('every token class of the Lark grammar has a sample and a scope', async () => {
  assert.deepStrictEqual(REGEX_TERMINALS, Object.keys(SAMPLES).sort(), 'a terminal without a sample here');
  for (const [terminal, samples] of Object.entries(SAMPLES)) {
    for (const [text, scope] of samples) {
      const tokens = visible(await tokenize(`x = ${text}`));
      const first = tokens[2];
      assert.ok(first && text.startsWith(first.text), `${terminal}: ${text}`);
      assert.ok(innermost(first).startsWith(scope), `${terminal}: ${text} is ${innermost(first)}`);
    }
  }
  const [, unit] = visible(await tokenize('30d'));
  assert.strictEqual(innermost(unit), 'keyword.other.unit.seg');
});

test('names of definitions are highlighted at their declaration', async () => {
  const cases = {
    'segment loyal = x': 'entity.name.function', 'measure revenue = x': 'entity.name.function',
    'classifier tier {': 'entity.name.function', 'split test {': 'entity.name.function',
    'table orders from shop.orders {': 'entity.name.type', 'entity customer from c {': 'entity.name.type',
    'param recent: duration = 30d': 'entity.name.variable.parameter',
  };
  for (const [line, scope] of Object.entries(cases)) {
    const [, name] = visible(await tokenize(line));
    assert.ok(innermost(name).startsWith(scope), `${line}: ${innermost(name)}`);
  }
});

test('every example file is highlighted: no text left unscoped', async () => {
  const folder = path.join(ROOT, 'examples');
  const files = fs.readdirSync(folder).filter((f) => f.endsWith('.seg'));
  assert.ok(files.length > 0);
  for (const file of files) {
    const text = fs.readFileSync(path.join(folder, file), 'utf8');
    const tokens = visible(await tokenize(text));
    for (const token of tokens) {
      assert.ok(token.scopes.length > 1, `${file}:${token.line + 1}:${token.start + 1} ${JSON.stringify(token.text)} has no scope`);
      if (KEYWORDS.includes(token.text)) {
        assert.match(innermost(token), KEYWORD_SCOPES, `${file}:${token.line + 1} keyword ${token.text}`);
      }
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const declared = line.match(/^(entity|table|param|measure|segment|classifier|split)\s+(\w+)/);
      if (!declared) return;
      const name = tokens.find((t) => t.line === i && t.text === declared[2]);
      assert.ok(name && innermost(name).startsWith('entity.name'), `${file}:${i + 1} ${declared[2]}`);
    });
  }
});
