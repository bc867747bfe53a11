"""Lark's LALR parser and lexer, run by leaner loops over lark's own tables.

Lark's loops pay, per token and per reduction, for generality this grammar does not use
(a rule hash and an assertion per reduction, three calls to make a token, two to tell a
keyword from a name). Three reductions in five of a typical file are single-child steps
of the expression precedence chain (`?sum: product`, `?product: unary`, …); here such a
step whose child is already an AST value only changes the parser's state, with no call.
Tables, terminals, errors and lark's interactive parser stay lark's; so do the results,
token for token and node for node. Relies on lark internals: `pyproject.toml` pins the
lark versions, and `use_lean_loops` refuses a lark that does not look as expected.
"""

from __future__ import annotations

import re
from typing import Any, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedToken
from lark.grammar import Rule
from lark.lexer import BasicLexer, ContextualLexer, LexerState, PatternStr, UnlessCallback
from lark.parsers.lalr_analysis import Shift
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.parsers.lalr_parser import _Parser
from lark.parsers.lalr_parser_state import ParseConf, ParserState

from segdsl.syntax.transformer import Reduced

# state → symbol → (True, next state) for a shift, (False, reduction) for a reduce, where
# a reduction is (symbols popped, callback, rule name, whether it may pass its child on)
_Actions = dict[Any, dict[str, tuple[bool, Any]]]


def use_lean_loops(lark: Lark) -> Lark:
    """Make `lark` (LALR, contextual lexer, callbacks from `ToAst.reducer`) parse and lex
    with the lean loops."""
    frontend = lark.parser.parser
    frontend.parser = _LeanParser(frontend.parser)
    lexer = lark.parser.lexer
    if not isinstance(lexer, ContextualLexer):
        raise TypeError(f"expected lark's contextual lexer, got {type(lexer).__name__}")
    for basic in lexer.lexers.values():
        if type(basic) is BasicLexer:
            basic.__class__ = _LeanLexer
    return lark


# ------------------------------------------------------------------ parser
class _LeanConf(ParseConf):  # type: ignore[type-arg]
    __slots__ = ("actions",)
    actions: _Actions


class _LeanState(ParserState):  # type: ignore[type-arg]
    __slots__ = ()
    parse_conf: _LeanConf

    def feed_token(self, token: Token, is_end: bool = False) -> Any:
        state_stack = self.state_stack
        value_stack = self.value_stack
        actions = self.parse_conf.actions
        while True:
            try:
                shifts, target = actions[state_stack[-1]][token.type]
            except KeyError:
                expected = {s for s in actions[state_stack[-1]] if s.isupper()}
                raise UnexpectedToken(token, expected, state=self) from None  # type: ignore[no-untyped-call]
            if shifts:
                state_stack.append(target)
                value_stack.append(token)
                return None
            size, callback, name, passes_on = target
            only = value_stack[-1] if passes_on else None
            if type(only) is Reduced and not isinstance(only.value, Tree):
                del state_stack[-1]  # `?sum: product` and the like: the child stays as it is
            elif size:
                children = value_stack[-size:]
                del state_stack[-size:]
                del value_stack[-size:]
                value_stack.append(callback(children))
            else:
                value_stack.append(callback([]))
            state = actions[state_stack[-1]][name][1]
            state_stack.append(state)
            if is_end and state == self.parse_conf.end_state:
                return value_stack[-1]


class _LeanParser(_Parser):
    def __init__(self, parser: _Parser) -> None:
        super().__init__(parser.parse_table, parser.callbacks, parser.debug)
        if any(isinstance(key, str) for key in parser.callbacks):
            raise TypeError("token callbacks are not supported by the lean parser loop")
        self.actions: _Actions = {
            state: {
                symbol: (True, arg) if action is Shift else (False, _reduction(arg, parser))
                for symbol, (action, arg) in row.items()
            }
            for state, row in parser.parse_table.states.items()
        }

    def parse(
        self,
        lexer: Any,
        start: str,
        value_stack: Any = None,
        state_stack: Any = None,
        start_interactive: bool = False,
    ) -> Any:
        conf = _LeanConf(self.parse_table, self.callbacks, start)
        conf.actions = self.actions
        state = _LeanState(conf, lexer, state_stack, value_stack)
        if start_interactive:
            return InteractiveParser(self, state, state.lexer)
        return self.parse_from_state(state)


def inlined(rule: Rule) -> bool:
    """Whether lark inlines `rule` when it keeps a single child (a `?rule` alternative
    without an alias); lark's own test."""
    return bool(rule.options.expand1 and not rule.alias)


def _reduction(rule: Any, parser: _Parser) -> tuple[int, Any, str, bool]:
    single_rule = len(rule.expansion) == 1 and not rule.expansion[0].is_term
    passes_on = inlined(rule) and single_rule
    return len(rule.expansion), parser.callbacks[rule], rule.origin.name, passes_on


# ------------------------------------------------------------------ lexer
class _LeanLexer(BasicLexer):
    """lark's `BasicLexer.next_token` with the calls per token inlined: one regular
    expression match, the line count, the token, and a keyword found by a dict lookup
    instead of lark's second match (`UnlessCallback`)."""

    _pattern: re.Pattern[str] | None = None  # set on first use, as lark builds its lexers
    _keywords: dict[str, dict[str, str]]  # a name-like terminal → its keywords → their types

    def _prepare(self) -> bool:
        """Get ready to lex, or turn back into lark's lexer if this one has more than what
        `next_token` inlines."""
        scanner = self.scanner  # lark builds it, and `self.callback`, on first use
        keywords = {kind: _keywords(callback) for kind, callback in self.callback.items()}
        inlinable = (
            all(spellings is not None for spellings in keywords.values())
            and len(scanner._mres) == 1
            and not (self.use_bytes or self.g_regex_flags or set(keywords) & self.ignore_types)
        )
        if not inlinable:
            self.__class__ = BasicLexer  # type: ignore[assignment]
            return False
        self._keywords = cast(dict[str, dict[str, str]], keywords)
        self._pattern = scanner._mres[0]
        return True

    def next_token(self, lex_state: LexerState, parser_state: Any = None) -> Token:
        if self._pattern is None and not self._prepare():
            return BasicLexer.next_token(self, lex_state, parser_state)
        pattern, keywords = cast(re.Pattern[str], self._pattern), self._keywords
        newline_types, ignore_types = self.newline_types, self.ignore_types
        line_ctr = lex_state.line_ctr
        text, end = lex_state.text.text, lex_state.text.end
        while line_ctr.char_pos < end:
            start, line, column = line_ctr.char_pos, line_ctr.line, line_ctr.column
            match = pattern.match(text, start, end)
            if match is None:  # lark's own loop raises lark's own error
                return BasicLexer.next_token(self, lex_state, parser_state)
            kind, value = cast(str, match.lastgroup), match.group()  # one group per terminal
            if kind in newline_types and "\n" in value:  # LineCounter.feed
                line_ctr.line += value.count("\n")
                line_ctr.line_start_pos = start + value.rindex("\n") + 1
            line_ctr.char_pos = match.end()
            line_ctr.column = line_ctr.char_pos - line_ctr.line_start_pos + 1
            if kind in ignore_types:
                continue
            token = str.__new__(Token, value)  # Token(...) without its two Python frames
            token.type = keywords[kind].get(value, kind) if kind in keywords else kind
            token.value = value
            token.start_pos, token.line, token.column = start, line, column
            token.end_pos, token.end_line = line_ctr.char_pos, line_ctr.line
            token.end_column = line_ctr.column
            lex_state.last_token = token
            return token
        raise EOFError(self)


def _keywords(callback: object) -> dict[str, str] | None:
    """What lark's keyword check (`UnlessCallback`) retypes, as spelling → terminal; None
    for any other callback, or keywords that are not plain strings."""
    if not isinstance(callback, UnlessCallback):
        return None
    terminals = callback.scanner.terminals
    if not all(isinstance(t.pattern, PatternStr) and not t.pattern.flags for t in terminals):
        return None
    return {terminal.pattern.value: terminal.name for terminal in terminals}
