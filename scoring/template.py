"""The SAQ template: a versioned questionnaire, its validation and its identity.

A template is written as YAML by commission staff, one file per version. `parse_template` turns the text into
a frozen `Template` or raises `TemplateError` listing every problem it found, each with the source name, the
path inside the document (``aspects[0].items[1].options[2].score``) and the reason.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Self

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

if TYPE_CHECKING:
    from scoring._compiled import CompiledTemplate

__all__ = [
    "Aspect",
    "Band",
    "Condition",
    "EvidenceRule",
    "Group",
    "NumberBand",
    "Option",
    "Question",
    "QuestionEntry",
    "QuestionType",
    "Template",
    "TemplateError",
    "TemplateProblem",
    "check_versions",
    "parse_template",
]

KEY_PATTERN = r"^[a-z0-9-]+$"
RESERVED_BAND_CODES = frozenset({"tidak-mengikuti"})
"""Band codes a template may not use: results report bodies that did not take part under this code."""
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
VALUE_PATTERN = r"^[^,\s](?:[^,]*[^,\s])?$"

_SKIP_SEMANTIC_CHECKS = "scoring.skip_semantic_checks"


class QuestionType(StrEnum):
    """How a question is answered and scored."""

    YES_NO = "yes_no"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    NUMBER = "number"
    TEXT = "text"


class EvidenceRule(StrEnum):
    """Whether an answer needs evidence (data dukung) to count."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


SCORED_TYPES = frozenset(
    {QuestionType.YES_NO, QuestionType.CHOICE, QuestionType.MULTI_CHOICE, QuestionType.NUMBER}
)
CONDITION_TARGET_TYPES = frozenset({QuestionType.YES_NO, QuestionType.CHOICE, QuestionType.MULTI_CHOICE})
YES_NO_VALUES = ("yes", "no")

_BOUND_KEYWORDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum"}


def _number_schema(**bounds: int) -> WithJsonSchema:
    """Show a Decimal as a plain number in the JSON Schema: YAML writers write numbers, not strings."""
    return WithJsonSchema(
        {"type": "number", **{_BOUND_KEYWORDS[name]: value for name, value in bounds.items()}}
    )


Code = Annotated[str, Field(pattern=CODE_PATTERN, max_length=64)]
OptionValue = Annotated[str, Field(pattern=VALUE_PATTERN, max_length=200)]
QuestionWeight = Annotated[
    Decimal,
    Field(
        gt=0,
        allow_inf_nan=False,
        description="Bobot: the weight of the question within its aspect (default 1).",
    ),
    _number_schema(gt=0),
]
AspectWeight = Annotated[
    Decimal,
    Field(
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="The weight of the aspect in the SAQ score; the weights of all aspects sum to 100.",
    ),
    _number_schema(gt=0, le=100),
]
BandMinimum = Annotated[
    Decimal,
    Field(
        ge=0, le=100, allow_inf_nan=False, description="The lowest published score (0 to 100) in this band."
    ),
    _number_schema(ge=0, le=100),
]
ScoreFraction = Annotated[
    Decimal,
    Field(
        ge=0, le=1, allow_inf_nan=False, description="The fraction of the question's weight earned, 0 to 1."
    ),
    _number_schema(ge=0, le=1),
]
NumberMinimum = Annotated[
    Decimal,
    Field(allow_inf_nan=False, description="The lowest answer value that earns this band's score."),
    _number_schema(),
]

_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True)


class Band(BaseModel):
    """A qualification band (kualifikasi), such as Informatif from 90."""

    model_config = _MODEL_CONFIG

    code: str = Field(pattern=KEY_PATTERN, description="Stable identifier, e.g. menuju-informatif.")
    label: str = Field(min_length=1, description="Name shown to people, e.g. Menuju Informatif.")
    min: BandMinimum


class NumberBand(BaseModel):
    """For a number question: the score earned by an answer of at least `min`."""

    model_config = _MODEL_CONFIG

    min: NumberMinimum
    score: ScoreFraction


class Option(BaseModel):
    """One option of a choice or multi_choice question."""

    model_config = _MODEL_CONFIG

    value: OptionValue = Field(description="The value stored in an answer; no commas, no surrounding spaces.")
    label: str = Field(min_length=1, description="The text shown to the operator.")
    score: ScoreFraction


def _one_or_many(value: object) -> object:
    return value if isinstance(value, list | tuple) else (value,)


class Condition(BaseModel):
    """Makes a question applicable only when another question was answered with one of the given values.

    `equals` is one value or a list of values meaning "any of". For a multi_choice question the condition
    holds when any chosen option is among them. The condition is false when the other question is unanswered
    or not applicable itself. Evidence plays no part in a condition.
    """

    model_config = _MODEL_CONFIG

    question: Code = Field(description="Code of a yes_no, choice or multi_choice question.")
    equals: Annotated[
        tuple[OptionValue, ...],
        BeforeValidator(_one_or_many, json_schema_input_type=OptionValue | list[OptionValue]),
        Field(
            min_length=1, description='A value ("yes", an option value) or a list of values meaning "any of".'
        ),
    ]


class Question(BaseModel):
    """A leaf of the questionnaire: what the operator answers."""

    model_config = _MODEL_CONFIG

    code: Code
    text: str = Field(min_length=1, description="The question as shown to the operator.")
    type: QuestionType = Field(
        description="yes_no | choice | multi_choice | number | text (text is never scored)."
    )
    weight: QuestionWeight = Field(default=Decimal(1), json_schema_extra={"default": 1})
    evidence: EvidenceRule = Field(
        default=EvidenceRule.NONE,
        description="none | optional | required; a required-evidence answer without evidence earns 0.",
    )
    options: tuple[Option, ...] = Field(
        default=(), description="Options of a choice or multi_choice question."
    )
    bands: tuple[NumberBand, ...] = Field(
        default=(),
        description="For a number question, highest min first: the first band the value reaches scores.",
    )
    when: Condition | None = Field(default=None, description="Otherwise the question is not applicable.")
    help: str | None = Field(default=None, description="Guidance shown to the operator.")


class Group(BaseModel):
    """A numbered group of questions (or of further groups) inside an aspect."""

    model_config = _MODEL_CONFIG

    code: Code
    title: str = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)


def _item_kind(value: object) -> str:
    if isinstance(value, Group) or (isinstance(value, Mapping) and "items" in value):
        return "group"
    return "question"


Item = Annotated[
    Annotated[Group, Tag("group")] | Annotated[Question, Tag("question")],
    Discriminator(_item_kind),
]


class Aspect(BaseModel):
    """A weighted section of the SAQ (indikator), such as Jenis Informasi with weight 40."""

    model_config = _MODEL_CONFIG

    code: Code
    title: str = Field(min_length=1)
    weight: AspectWeight
    items: tuple[Item, ...] = Field(min_length=1)


class QuestionEntry(NamedTuple):
    """A question together with the code of the aspect it belongs to."""

    aspect_code: str
    question: Question


class Template(BaseModel):
    """An SAQ template: one version of the questionnaire of a round for some body categories.

    A published version never changes; its identity is (key, version) plus the content hash.
    """

    model_config = _MODEL_CONFIG

    key: str = Field(
        pattern=KEY_PATTERN, description="Stable identifier: lowercase letters, digits and hyphens."
    )
    version: str = Field(min_length=1, description='The version, quoted in YAML: "2025.1".')
    title: str = Field(min_length=1)
    description: str | None = None
    body_categories: tuple[str, ...] = Field(min_length=1, description="The body categories that answer it.")
    bands: tuple[Band, ...] = Field(
        min_length=1, description="Highest first; a score falls in the first band whose min it reaches."
    )
    aspects: tuple[Aspect, ...] = Field(min_length=1, description="The aspects; their weights sum to 100.")

    @model_validator(mode="after")
    def _check_semantics(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(_SKIP_SEMANTIC_CHECKS):
            return self
        problems = _semantic_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in problems))
        return self

    def questions(self) -> tuple[QuestionEntry, ...]:
        """All leaf questions in document order, each with its aspect code."""
        return self._index[0]

    def question(self, code: str) -> Question:
        """The question with this code; raises KeyError if there is none."""
        return self._index[1][code]

    @cached_property
    def _index(self) -> tuple[tuple[QuestionEntry, ...], dict[str, Question]]:
        entries = tuple(
            QuestionEntry(aspect.code, question)
            for aspect in self.aspects
            for question in _leaves(aspect.items)
        )
        return entries, {entry.question.code: entry.question for entry in entries}

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the template.

        The canonical form includes defaults, sorts keys and writes numbers as normalised decimal strings, so
        the hash does not depend on key order, formatting, comments or on writing 1 as 1.0 in the YAML.
        """
        canonical = json.dumps(
            _canonical(self.model_dump()), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of a template file, as committed in questionnaires/schema.json."""
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **cls.model_json_schema()}

    @cached_property
    def _compiled(self) -> CompiledTemplate:
        from scoring._compiled import compile_template

        return compile_template(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with `update` (not validated, as in pydantic) the cached hash and indexes are dropped."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            for cached in _CACHED_PROPERTIES:
                copied.__dict__.pop(cached, None)
        return copied


_CACHED_PROPERTIES = ("_index", "content_hash", "_compiled")

Group.model_rebuild()
Aspect.model_rebuild()
Template.model_rebuild()


def _leaves(items: Iterable[Group | Question]) -> Iterator[Question]:
    for item in items:
        if isinstance(item, Group):
            yield from _leaves(item.items)
        else:
            yield item


def _canonical(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, StrEnum):
        return value.value
    return value


# -----------------------------------------------------------------------------------------------------------
# Problems and errors


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One problem in a template: the source (a file name), the path inside the document, the reason."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        if not self.path:
            return f"{self.source}: {self.message}"
        return f"{self.source}: {self.path}: {self.message}"


MAX_PROBLEMS = 100
"""A rejected template lists at most this many problems; `TemplateError.omitted` counts the rest."""
MAX_NODES = 20_000
"""A template holds at most this many YAML nodes (scalars, sequences and mappings); the bundled SAQs have
about 2,000."""


class TemplateError(Exception):
    """A template was rejected; `problems` lists the first `MAX_PROBLEMS` problems found, `omitted` says
    how many more there were."""

    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        self.problems: list[TemplateProblem] = list(problems[:MAX_PROBLEMS])
        self.omitted = max(len(problems) - MAX_PROBLEMS, 0)
        lines = [str(problem) for problem in self.problems]
        if self.omitted:
            lines.append(f"{self.problems[-1].source}: and {self.omitted} more problems")
        super().__init__("\n".join(lines))


# -----------------------------------------------------------------------------------------------------------
# Parsing


class _Loader(yaml.SafeLoader):
    """A safe YAML loader with YAML 1.2 booleans (only true/false) that records duplicate keys and control
    characters written as escapes (the reader refuses them written as they are), and refuses anchors and
    aliases (`&name`, `*name`, and so the merge key `<<: *name`).

    With YAML 1.1 an unquoted `equals: yes` would read as a boolean; here it reads as the string "yes".
    Without aliases the document's nodes are at most as many as its characters: a few hundred bytes of nested
    aliases would otherwise stand for millions of nodes, each validated and reported. And at most `MAX_NODES`
    nodes are read at all, so the work of validating a template is bounded whatever its size.
    """

    def __init__(self, stream: str, *, allow_aliases: bool = False) -> None:
        super().__init__(stream)
        self.problems: list[str] = []
        self.nodes = 0
        self.allow_aliases = allow_aliases

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        aliased = isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None
        if aliased and not self.allow_aliases:
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed in a template: write each part out",
                event.start_mark,
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"a template holds at most {MAX_NODES} values, lists and mappings (a whole SAQ has about "
                "2,000); this one has more",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_scalar(self, node: yaml.ScalarNode | yaml.MappingNode) -> str:
        value = super().construct_scalar(node)
        found = yaml.reader.Reader.NON_PRINTABLE.search(value)
        if found:
            # A database cannot store every one of them (PostgreSQL refuses NUL), and no template needs one.
            self.problems.append(
                f"the control character U+{ord(found.group()):04X} at line {node.start_mark.line + 1} "
                "is not allowed"
            )
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            line = key_node.start_mark.line + 1
            seen = first_line.setdefault((key_node.tag, key_node.value), line)
            if seen != line:
                self.problems.append(
                    f"duplicate key '{key_node.value}' at line {line} (first at line {seen})"
                )
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_template(text: str, *, source: str, allow_aliases: bool = False) -> Template:
    """Parse and validate the YAML text of a template.

    `source` names the text in problems (usually its file name); nothing is read from disk here. Raises
    `TemplateError` listing every problem found: invalid YAML (with its line), duplicate or unknown keys,
    wrong types, duplicate codes, aspect weights not summing to 100, bands not strictly descending, not ending
    at 0 or with duplicate codes, choice questions without options, option scores outside 0..1, number
    questions without bands, and conditions (`when`) naming an unknown question or forming a cycle. YAML
    anchors and aliases and documents of more than `MAX_NODES` nodes are refused as invalid YAML; at most
    `MAX_PROBLEMS` problems are listed (`TemplateError.omitted` counts the rest).

    `allow_aliases` reads anchors and aliases after all: only for a text that was validated once already
    (a stored version accepted before aliases were refused), never for new input.
    """
    try:
        loader = _Loader(text, allow_aliases=allow_aliases)
    except yaml.reader.ReaderError as exc:
        # The reader refuses control characters (NUL included) before any parsing, in the constructor.
        line = text[: exc.position].count("\n") + 1
        reason = f"the control character U+{exc.character:04X} is not allowed"
        raise TemplateError([TemplateProblem(source, "", f"invalid YAML at line {line}: {reason}")]) from exc
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "unreadable"
        raise TemplateError([TemplateProblem(source, "", f"invalid YAML{where}: {reason}")]) from exc
    except yaml.YAMLError as exc:
        raise TemplateError([TemplateProblem(source, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()

    problems = [TemplateProblem(source, "", message) for message in loader.problems]
    if not isinstance(data, Mapping):
        problems.append(TemplateProblem(source, "", "a template must be a YAML mapping (key: value pairs)"))
        raise TemplateError(problems)

    template: Template | None = None
    try:
        template = Template.model_validate(data, context={_SKIP_SEMANTIC_CHECKS: True})
    except ValidationError as exc:
        problems.extend(TemplateProblem(source, path, message) for path, message in _pydantic_problems(exc))
    problems.extend(TemplateProblem(source, path, message) for path, message in _semantic_problems(data))
    if problems or template is None:
        raise TemplateError(_sorted_unique(problems))
    return template


def check_versions(templates: Iterable[tuple[str, Template]]) -> list[TemplateProblem]:
    """Problems where one (key, version) appears with different content.

    `templates` pairs a source name with a template. The first source seen for a (key, version) is taken as
    the reference; every later source with another content hash yields a problem at path ``version``.
    """
    first: dict[tuple[str, str], tuple[str, Template]] = {}
    problems: list[TemplateProblem] = []
    for source, template in templates:
        identity = (template.key, template.version)
        reference = first.setdefault(identity, (source, template))
        if reference[1].content_hash != template.content_hash:
            problems.append(
                TemplateProblem(
                    source,
                    "version",
                    f"version '{template.version}' of '{template.key}' is already defined by "
                    f"{reference[0]} with different content (content hash {template.content_hash[:12]} "
                    f"differs from {reference[1].content_hash[:12]}); a published version never changes: "
                    "give this one a new version",
                )
            )
    return problems


# -----------------------------------------------------------------------------------------------------------
# Pydantic errors as problems

_UNION_TAGS = frozenset({"group", "question"})
_FIELD_NAMES = sorted(
    {
        name
        for model in (Template, Band, Aspect, Group, Question, Option, NumberBand, Condition)
        for name in model.model_fields
    }
)


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif (
            part in _UNION_TAGS
            and index >= 2
            and isinstance(loc[index - 1], int)
            and loc[index - 2] == "items"
        ):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    errors = exc.errors(include_url=False)
    failed = {error["loc"][:prefix] for error in errors for prefix in range(len(error["loc"]))}
    problems = []
    for error in errors:
        loc = error["loc"]
        kind = error["type"]
        if kind == "too_short" and loc in failed:
            continue  # a list whose items failed looks empty to pydantic: the items' own errors say why
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            close = difflib.get_close_matches(key, _FIELD_NAMES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = f"unknown key '{key}'{hint}"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "string_type" and isinstance(error["input"], bool):
            written = "true" if error["input"] else "false"
            message = f"must be a string, but YAML read the boolean {written}: write it in quotes"
        elif kind == "string_type" and isinstance(error["input"], int | float | Decimal):
            message = f"must be a string, but YAML read the number {error['input']}: write it in quotes"
        elif kind == "string_pattern_mismatch":
            message = _pattern_message(str(error.get("ctx", {}).get("pattern", "")), error["input"])
        else:
            message = error["msg"]
        problems.append((_path(loc), message))
    return problems


def _pattern_message(pattern: str, value: object) -> str:
    if pattern == KEY_PATTERN:
        return f"'{value}' must contain only lowercase letters, digits and hyphens ([a-z0-9-]+)"
    if pattern == CODE_PATTERN:
        return f"'{value}' is not a valid code: letters, digits, '.', '_' and '-', not starting with a symbol"
    if pattern == VALUE_PATTERN:
        return f"'{value}' is not a valid option value: no commas and no leading or trailing spaces"
    return f"'{value}' does not match {pattern}"


def _path_key(path: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\w+", path))


def _sorted_unique(problems: list[TemplateProblem]) -> list[TemplateProblem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: _path_key(problem.path))


# -----------------------------------------------------------------------------------------------------------
# Semantic checks, run on the raw document so that they are reported together with type errors


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int | float | str):
        try:
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _sequence(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else ()


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


@dataclass
class _RawQuestion:
    path: str
    code: str
    type: object
    options: Sequence[object]
    when: Mapping[str, object]


def _semantic_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    _check_bands(_sequence(data.get("bands")), problems)

    aspects = _sequence(data.get("aspects"))
    weights = [_decimal(_mapping(aspect).get("weight")) for aspect in aspects]
    if aspects and all(weight is not None for weight in weights):
        total = sum((weight for weight in weights if weight is not None), Decimal(0))
        if total != 100:
            problems.append(("aspects", f"aspect weights sum to {_plain(total)}, not 100"))

    codes: dict[str, str] = {}
    questions: dict[str, _RawQuestion] = {}
    for index, aspect in enumerate(aspects):
        _walk(_mapping(aspect), f"aspects[{index}]", codes, questions, problems)
    _check_conditions(questions, problems)
    return problems


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _check_bands(bands: Sequence[object], problems: list[tuple[str, str]]) -> None:
    seen: dict[object, int] = {}
    previous: Decimal | None = None
    last: Decimal | None = None
    for index, raw in enumerate(bands):
        band = _mapping(raw)
        code = band.get("code")
        if isinstance(code, str):
            if code in RESERVED_BAND_CODES:
                problems.append(
                    (
                        f"bands[{index}].code",
                        f"'{code}' is reserved for bodies that did not take part; choose another band code",
                    )
                )
            if code in seen:
                problems.append(
                    (f"bands[{index}].code", f"duplicate band code '{code}' (also bands[{seen[code]}])")
                )
            seen.setdefault(code, index)
        minimum = _decimal(band.get("min"))
        if minimum is not None and previous is not None and minimum >= previous:
            problems.append(
                (
                    f"bands[{index}].min",
                    "bands must be listed highest first with strictly descending min: "
                    f"{_plain(minimum)} is not below {_plain(previous)}",
                )
            )
        previous = minimum if minimum is not None else previous
        last = minimum
    if bands and last is not None and last != 0:
        problems.append(
            (
                f"bands[{len(bands) - 1}].min",
                f"the last band must have min 0 so every score has a band, not {last}",
            )
        )


def _walk(
    node: Mapping[str, object],
    path: str,
    codes: dict[str, str],
    questions: dict[str, _RawQuestion],
    problems: list[tuple[str, str]],
) -> None:
    code = node.get("code")
    if isinstance(code, str):
        if code in codes:
            problems.append((f"{path}.code", f"duplicate code '{code}' (also {codes[code]})"))
        else:
            codes[code] = path
    if path.count(".") > 0 and "items" not in node:
        _check_question(node, path, problems)
        if isinstance(code, str) and code not in questions:
            questions[code] = _RawQuestion(
                path, code, node.get("type"), _sequence(node.get("options")), _mapping(node.get("when"))
            )
        return
    for index, item in enumerate(_sequence(node.get("items"))):
        if isinstance(item, Mapping):
            _walk(item, f"{path}.items[{index}]", codes, questions, problems)


def _check_question(node: Mapping[str, object], path: str, problems: list[tuple[str, str]]) -> None:
    kind = node.get("type")
    options = _sequence(node.get("options"))
    bands = _sequence(node.get("bands"))
    if kind in (QuestionType.CHOICE, QuestionType.MULTI_CHOICE):
        if not options:
            problems.append((f"{path}.options", f"a {kind} question needs options"))
    elif options and kind in set(QuestionType):
        problems.append(
            (f"{path}.options", f"options are only for choice and multi_choice questions, not {kind}")
        )
    if kind == QuestionType.NUMBER:
        if not bands:
            problems.append((f"{path}.bands", "a number question needs bands: [{min, score}, ...]"))
    elif bands and kind in set(QuestionType):
        problems.append((f"{path}.bands", f"bands are only for number questions, not {kind}"))

    seen: dict[object, int] = {}
    for index, option in enumerate(options):
        value = _mapping(option).get("value")
        if isinstance(value, str):
            if value in seen:
                problems.append(
                    (
                        f"{path}.options[{index}].value",
                        f"duplicate option value '{value}' (also options[{seen[value]}])",
                    )
                )
            seen.setdefault(value, index)

    previous: Decimal | None = None
    for index, band in enumerate(bands):
        minimum = _decimal(_mapping(band).get("min"))
        if minimum is not None and previous is not None and minimum >= previous:
            problems.append(
                (
                    f"{path}.bands[{index}].min",
                    "number bands must be listed highest first with strictly descending min: "
                    f"{_plain(minimum)} is not below {_plain(previous)}",
                )
            )
        previous = minimum if minimum is not None else previous


def _answer_values(question: _RawQuestion) -> set[str] | None:
    if question.type == QuestionType.YES_NO:
        return set(YES_NO_VALUES)
    if question.type in (QuestionType.CHOICE, QuestionType.MULTI_CHOICE):
        return {
            value for option in question.options if isinstance(value := _mapping(option).get("value"), str)
        }
    return None


def _check_conditions(questions: Mapping[str, _RawQuestion], problems: list[tuple[str, str]]) -> None:
    targets: dict[str, str] = {}
    for question in questions.values():
        target = question.when.get("question")
        if not isinstance(target, str):
            continue
        where = f"{question.path}.when.question"
        if target == question.code:
            problems.append((where, f"'{target}' is the question itself: a question cannot depend on itself"))
            continue
        referred = questions.get(target)
        if referred is None:
            problems.append((where, f"unknown question '{target}'"))
            continue
        targets[question.code] = target
        if referred.type not in CONDITION_TARGET_TYPES:
            if referred.type in set(QuestionType):
                problems.append(
                    (
                        where,
                        f"'{target}' is a {referred.type} question: "
                        "a condition needs a yes_no, choice or multi_choice question",
                    )
                )
            continue
        allowed = _answer_values(referred)
        equals = question.when.get("equals")
        for index, value in enumerate((equals,) if isinstance(equals, str) else _sequence(equals)):
            if allowed is not None and isinstance(value, str) and value not in allowed:
                where_value = f"{question.path}.when.equals" + (
                    "" if isinstance(equals, str) else f"[{index}]"
                )
                problems.append(
                    (
                        where_value,
                        f"'{value}' is not an answer of '{target}' (one of: {', '.join(sorted(allowed))})",
                    )
                )

    reported: set[str] = set()
    for start in targets:
        chain = [start]
        while chain[-1] in targets and targets[chain[-1]] not in chain:
            chain.append(targets[chain[-1]])
        if chain[-1] not in targets:
            continue
        cycle = chain[chain.index(targets[chain[-1]]) :]
        if reported.isdisjoint(cycle):
            reported.update(cycle)
            first = min(cycle, key=lambda code: _path_key(questions[code].path))
            ordered = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
            problems.append(
                (
                    f"{questions[first].path}.when.question",
                    "conditions form a cycle: " + " -> ".join([*ordered, first]),
                )
            )
