"""A small, safe boolean expression language for cross-field rules.

Why not `eval` or simpleeval: rules come from config files, so they must never run code, and they run once
per record, so they must be cheap. An expression is parsed once with Python's `ast`, every node is checked
against a whitelist (names, number/string/bool/None literals, comparisons, `and`/`or`/`not`, `+ - * / %`,
unary minus, `is None`/`is not None`, `in`/`not in` a literal list) and compiled into nested closures.
Attribute access, calls, subscripts, lambdas, comprehensions and dunder names are rejected at parse time.

Null semantics are SQL CHECK semantics (three-valued logic): a comparison or arithmetic with a null (or
missing) operand is *unknown*; `and`/`or`/`not` follow SQL's truth tables; a rule whose expression ends
*unknown* passes. Only an expression that evaluates to false is a violation. `is None` / `is not None` are
the way to make nulls matter, e.g. `packed_qty is not None and packed_qty <= alloc_qty`.
"""

from __future__ import annotations

import ast
import operator
import typing as t
from decimal import Decimal

Evaluator = t.Callable[[dict], t.Any]

_COMPARE_OPS: dict[type, t.Callable[[t.Any, t.Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_SYMBOLS = {
    operator.eq: "==",
    operator.ne: "!=",
    operator.lt: "<",
    operator.le: "<=",
    operator.gt: ">",
    operator.ge: ">=",
}
_ARITH_OPS: dict[type, t.Callable[[t.Any, t.Any], t.Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


class ExpressionError(ValueError):
    """Raised when an expression is not valid in the rule language (a config error)."""


class ExpressionTypeError(TypeError):
    """Raised while evaluating when operand types do not fit (a record problem, reported as a violation)."""


class CompiledExpression(t.NamedTuple):
    """A compiled expression: the evaluator plus the record fields it reads (for end-of-run warnings)."""

    source: str
    evaluate: Evaluator
    names: tuple[str, ...]

    def passes(self, record: dict) -> bool:
        """True unless the expression evaluates to false (unknown passes, as in SQL CHECK)."""
        return self.evaluate(record) is not False


def _literal(value: t.Any) -> t.Any:
    """Floats in expressions become Decimals, matching how the reader decodes JSON numbers."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


class _Compiler:
    """Walks a whitelisted AST and returns closures; raises ExpressionError on anything else."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.names: list[str] = []

    def fail(self, node: ast.AST, what: str) -> t.NoReturn:
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        msg = f"{what} is not allowed in a rule expression{where}: {self.source!r}"
        raise ExpressionError(msg)

    def compile(self, node: ast.AST) -> Evaluator:
        if isinstance(node, ast.Expression):
            return self.compile(node.body)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool, type(None))):
                self.fail(node, f"the literal {node.value!r}")
            value = _literal(node.value)
            return lambda _r: value
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            return _and(parts) if isinstance(node.op, ast.And) else _or(parts)
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.Not):
                return _not(operand)
            if isinstance(node.op, ast.USub):
                return _neg(operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            self.fail(node, f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.BinOp):
            op = _ARITH_OPS.get(type(node.op))
            if op is None:
                self.fail(node, f"the operator {type(node.op).__name__}")
            return _arith(op, self.compile(node.left), self.compile(node.right))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        self.fail(node, type(node).__name__)

    def _name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name.startswith("__"):
            self.fail(node, f"the name {name!r}")
        if name in {"None", "True", "False"}:  # pragma: no cover - parsed as Constant in 3.8+
            value = {"None": None, "True": True, "False": False}[name]
            return lambda _r: value
        if name not in self.names:
            self.names.append(name)

        def get(r: dict) -> t.Any:
            value = r.get(name)
            return Decimal(repr(value)) if type(value) is float else value

        get.field = name  # type: ignore[attr-defined]  # lets a comparison of two fields read them itself
        return get

    def _compare(self, node: ast.Compare) -> Evaluator:
        steps: list[Evaluator] = []
        if len(node.ops) > 1 and any(
            isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in node.ops
        ):
            self.fail(node, "chaining `is`/`in` with other comparisons")
        left = self.compile(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.Is, ast.IsNot)):
                if not (isinstance(right_node, ast.Constant) and right_node.value is None):
                    self.fail(right_node, "`is` with anything but None")
                steps.append(_is_none(left, negate=isinstance(op, ast.IsNot)))
                right = lambda _r: None  # noqa: E731
            elif isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right_node, (ast.List, ast.Tuple, ast.Set)):
                    self.fail(right_node, "`in` with anything but a literal list")
                members = set()
                for elt in right_node.elts:
                    if not isinstance(elt, ast.Constant) or isinstance(elt.value, (bytes, type(Ellipsis))):
                        self.fail(elt, "a non-literal list member")
                    members.add(_literal(elt.value))
                steps.append(_membership(left, frozenset(members), negate=isinstance(op, ast.NotIn)))
                right = lambda _r: None  # noqa: E731
            else:
                right = self.compile(right_node)
                steps.append(_cmp(_COMPARE_OPS[type(op)], left, right))
            left = right
        return steps[0] if len(steps) == 1 else _and(steps)


def _connective(parts: list[Evaluator], *, decisive: bool) -> Evaluator:
    """SQL three-valued AND (decisive=False) / OR (decisive=True): the decisive value wins, else unknown."""

    def evaluate(r: dict) -> bool | None:
        unknown = False
        for part in parts:
            value = part(r)
            if value is None:
                unknown = True
            elif bool(value) is decisive:
                return decisive
        return None if unknown else not decisive

    return evaluate


def _and(parts: list[Evaluator]) -> Evaluator:
    return _connective(parts, decisive=False)


def _or(parts: list[Evaluator]) -> Evaluator:
    return _connective(parts, decisive=True)


def _not(operand: Evaluator) -> Evaluator:
    def evaluate(r: dict) -> bool | None:
        value = operand(r)
        return None if value is None else not value

    return evaluate


def _neg(operand: Evaluator) -> Evaluator:
    def evaluate(r: dict) -> t.Any:
        value = operand(r)
        if value is None:
            return None
        try:
            return -value
        except TypeError as exc:
            raise ExpressionTypeError(f"cannot negate {type(value).__name__} {value!r}") from exc

    return evaluate


def _arith(op: t.Callable, left: Evaluator, right: Evaluator) -> Evaluator:
    def evaluate(r: dict) -> t.Any:
        a = left(r)
        b = right(r)
        if a is None or b is None:
            return None
        if type(a) is bool or type(b) is bool or type(a) is str or type(b) is str:
            raise ExpressionTypeError(f"cannot do arithmetic on {a!r} and {b!r}")
        try:
            return op(a, b)
        except (TypeError, ArithmeticError) as exc:
            raise ExpressionTypeError(f"cannot compute with {a!r} and {b!r}: {exc}") from exc

    return evaluate


def _cmp(op: t.Callable, left: Evaluator, right: Evaluator) -> Evaluator:
    left_field, right_field = getattr(left, "field", None), getattr(right, "field", None)
    if left_field is not None and right_field is not None:
        return _cmp_fields(op, left_field, right_field)

    def evaluate(r: dict) -> bool | None:
        a = left(r)
        b = right(r)
        if a is None or b is None:
            return None
        try:
            return op(a, b)
        except TypeError as exc:
            raise _cannot_compare(a, b) from exc

    return evaluate


def _cmp_fields(op: t.Callable, left: str, right: str) -> Evaluator:
    """`field <op> field`, the usual cross-field rule, reading both fields itself (as `_name` does)
    instead of calling an evaluator per operand: it runs once per record."""

    def evaluate(r: dict) -> bool | None:
        a = r.get(left)
        b = r.get(right)
        if a is None or b is None:
            return None
        if type(a) is float:
            a = Decimal(repr(a))
        if type(b) is float:
            b = Decimal(repr(b))
        try:
            return op(a, b)
        except TypeError as exc:
            raise _cannot_compare(a, b) from exc

    def accept(read: t.Callable[[str], str], bind: t.Callable[[t.Any], str]) -> str:
        """The rule engine's inline test (checks.Accept): both fields null, or numbers that compare true."""
        a, b, numbers = read(left), read(right), bind((int, Decimal))
        compared = f"type({a}) in {numbers} and type({b}) in {numbers} and {a} {_SYMBOLS[op]} {b}"
        return f"({a} is None or {b} is None or ({compared}))"

    evaluate.accept = accept  # type: ignore[attr-defined]
    return evaluate


def _cannot_compare(a: t.Any, b: t.Any) -> ExpressionTypeError:
    return ExpressionTypeError(f"cannot compare {type(a).__name__} {a!r} with {type(b).__name__} {b!r}")


def _is_none(operand: Evaluator, *, negate: bool) -> Evaluator:
    if negate:
        return lambda r: operand(r) is not None
    return lambda r: operand(r) is None


def _membership(operand: Evaluator, members: frozenset, *, negate: bool) -> Evaluator:
    def evaluate(r: dict) -> bool | None:
        value = operand(r)
        if value is None:
            return None
        try:
            found = value in members
        except TypeError:  # unhashable value (object/array) is never a member
            found = False
        return not found if negate else found

    return evaluate


def compile_expression(source: str) -> CompiledExpression:
    """Parse and compile `source` once; raise ExpressionError naming what is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("a rule expression must be a non-empty string")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        msg = f"cannot parse rule expression {source!r}: {exc.msg} at column {exc.offset}"
        raise ExpressionError(msg) from exc
    compiler = _Compiler(source)
    evaluate = compiler.compile(tree)
    if not compiler.names:
        msg = f"rule expression {source!r} reads no record field, so it could never depend on a record"
        raise ExpressionError(msg)
    return CompiledExpression(source, evaluate, tuple(compiler.names))
