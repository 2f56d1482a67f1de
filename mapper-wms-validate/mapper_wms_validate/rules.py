"""Parse the `rules` setting (and the defaults) into compiled rules, reporting every config mistake at once.

Why all errors at once: a user fixing a config file should see every mistyped check, missing parameter, bad
regex or bad expression in one run, each named by stream, rule index and rule name, not one per attempt.
"""

from __future__ import annotations

import dataclasses
import typing as t

from mapper_wms_validate.checks import CHECKS, CheckConfigError, RecordCheck
from mapper_wms_validate.defaults import DEFAULT_RULES, EVERY_STREAM
from mapper_wms_validate.expression import ExpressionError, compile_expression

ACTIONS = ("quarantine", "drop", "fail")
RULE_KEYS = ("name", "field", "expression", "check", "action", "enabled")
# Severity when one record breaks rules with different actions: fail beats quarantine beats drop, so a
# record is only dropped when every rule it broke says drop.
ACTION_SEVERITY = {"drop": 0, "quarantine": 1, "fail": 2}


class RuleConfigError(ValueError):
    """The `rules` setting has mistakes; `errors` lists each one with its location."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid `rules` setting: " + "; ".join(errors))
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class Rule:
    """One compiled rule. `test(record)` returns None (pass) or the violation message."""

    name: str
    check: str
    field: str | None
    fields: tuple[str, ...]
    action: str | None  # None: the `on_invalid` setting decides
    test: RecordCheck
    default: bool
    where: str
    params: tuple[tuple[str, t.Any], ...] = ()  # the check's parameters, as (name, value) pairs

    @property
    def field_label(self) -> str:
        """What goes in a violation's `field`: the field, or the fields an expression reads."""
        return self.field if self.field is not None else ",".join(self.fields)


@dataclasses.dataclass(frozen=True)
class Override:
    """A user entry without field/check: it changes the `action` of, or disables, a rule by name."""

    name: str
    action: str | None
    enabled: bool
    where: str


def _parse_rule(raw: t.Any, where: str, index: int, *, default: bool) -> Rule | Override:
    if not isinstance(raw, dict):
        raise CheckConfigError(f"a rule must be an object, got {raw!r}")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise CheckConfigError(f"'name' must be a non-empty string, got {name!r}")
    action = raw.get("action")
    if action is not None and action not in ACTIONS:
        raise CheckConfigError(f"unknown action {action!r} (expected one of {', '.join(ACTIONS)})")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise CheckConfigError(f"'enabled' must be true or false, got {enabled!r}")
    field, expression, check = raw.get("field"), raw.get("expression"), raw.get("check")
    if field is None and expression is None and check is None:
        if name is None:
            raise CheckConfigError("a rule needs a 'field' and a 'check', or an 'expression'")
        unknown = sorted(set(raw) - {"name", "action", "enabled"})
        if unknown:
            raise CheckConfigError(f"unknown key(s) {unknown} in a rule override (needs 'field'/'check')")
        return Override(name, action, enabled, where)
    if check is None and expression is not None:
        check = "expression"
    if check is None:
        raise CheckConfigError("missing 'check'")
    spec = CHECKS.get(check)
    if spec is None:
        raise CheckConfigError(f"unknown check {check!r} (expected one of {', '.join(CHECKS)})")
    params = {k: v for k, v in raw.items() if k not in RULE_KEYS}
    if expression is not None:
        params["expression"] = expression
    allowed = set(spec.required) | set(spec.optional)
    unknown = sorted(set(params) - allowed)
    if unknown:
        expected = ", ".join(sorted(allowed)) or "none"
        raise CheckConfigError(f"unknown parameter(s) {unknown} for check {check!r} (expected: {expected})")
    missing = [p for p in spec.required if p not in params]
    if missing:
        raise CheckConfigError(f"check {check!r} needs parameter(s) {missing}")
    if spec.needs_field:
        if not isinstance(field, str) or not field:
            raise CheckConfigError(f"check {check!r} needs a 'field' (a top-level record property)")
        fields: tuple[str, ...] = (field,)
        test = spec.factory(field, params)
    else:
        if field is not None:
            raise CheckConfigError("an expression rule reads its fields from the expression; drop 'field'")
        compiled = compile_expression(params["expression"])
        fields = compiled.names
        test = spec.factory("", params)
    if name is None:
        name = f"{field}_{check}" if field is not None else f"expression_{index + 1}"
    frozen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(params.items()))
    return Rule(name, check, field, fields, action, test, default, where, frozen)


def _parse_stream_rules(
    stream: str, raws: t.Any, errors: list[str], *, default: bool
) -> list[Rule | Override]:
    setting = "default rules" if default else "rules"
    if not isinstance(raws, list):
        errors.append(f"{setting}.{stream}: must be a list of rules, got {type(raws).__name__}")
        return []
    parsed: list[Rule | Override] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        label = raw.get("name") if isinstance(raw, dict) else None
        where = f"{setting}.{stream}[{index}]" + (f" (rule {label!r})" if label else "")
        try:
            item = _parse_rule(raw, where, index, default=default)
        except (CheckConfigError, ExpressionError) as exc:
            errors.append(f"{where}: {exc}")
            continue
        if item.name in seen:
            errors.append(f"{where}: duplicate rule name {item.name!r} for stream {stream!r}")
            continue
        seen.add(item.name)
        parsed.append(item)
    return parsed


class RuleBook:
    """All configured rules; hands each stream its active rules once its SCHEMA is known."""

    def __init__(self, rules_setting: t.Any, *, use_default_rules: bool = True) -> None:
        errors: list[str] = []
        self.defaults: dict[str, list[Rule]] = {}
        if use_default_rules:
            for stream, raws in DEFAULT_RULES.items():
                self.defaults[stream] = [
                    r for r in _parse_stream_rules(stream, raws, errors, default=True) if isinstance(r, Rule)
                ]
        self.user: dict[str, list[Rule | Override]] = {}
        if rules_setting is None:
            rules_setting = {}
        if not isinstance(rules_setting, dict):
            errors.append("rules: must be an object mapping stream names to lists of rules")
            rules_setting = {}
        for stream, raws in rules_setting.items():
            self.user[stream] = _parse_stream_rules(stream, raws, errors, default=False)
        for stream, items in self.user.items():
            for item in items:
                if isinstance(item, Override) and not self._known_name(stream, item.name):
                    errors.append(
                        f"{item.where}: overrides rule {item.name!r}, but no default or configured rule "
                        f"of that name applies to stream {stream!r}"
                    )
        if errors:
            raise RuleConfigError(errors)

    def _known_name(self, stream: str, name: str) -> bool:
        streams = (EVERY_STREAM,) if stream == EVERY_STREAM else (EVERY_STREAM, stream)
        pools = [self.defaults.get(s, []) for s in streams] + [self.user.get(s, []) for s in streams]
        return any(isinstance(r, Rule) and r.name == name for pool in pools for r in pool)

    def rules_for(self, stream: str, properties: t.Collection[str]) -> list[Rule]:
        """The rules that apply to `stream` given its SCHEMA's properties.

        Rules under "*" (default or user) apply only when the schema declares every field they read;
        stream-specific rules always apply. A later rule with an existing name replaces it; an override
        changes its action or disables it.
        """
        ordered: dict[str, Rule] = {}
        disabled: set[str] = set()
        sources = [
            (self.defaults.get(EVERY_STREAM, []), True),
            (self.defaults.get(stream, []), False),
            (self.user.get(EVERY_STREAM, []), True),
            (self.user.get(stream, []), False),
        ]
        for items, needs_fields in sources:
            for item in items:
                if isinstance(item, Override):
                    if not item.enabled:
                        disabled.add(item.name)
                    current = ordered.get(item.name)
                    if current is not None and item.action is not None:
                        ordered[item.name] = dataclasses.replace(current, action=item.action)
                    continue
                if needs_fields and not all(f in properties for f in item.fields):
                    continue
                ordered[item.name] = item
        return [rule for name, rule in ordered.items() if name not in disabled]

    def configured_rules(self) -> t.Iterator[tuple[str, Rule]]:
        """The user's own rules (not defaults, not overrides), for end-of-run "never appeared" warnings."""
        for stream, items in self.user.items():
            for item in items:
                if isinstance(item, Rule):
                    yield stream, item
