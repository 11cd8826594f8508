"""Scoring many submissions at once with exact integer arithmetic in numpy.

How it stays exact and equal to `score`:

* Every answer value is interpreted by the same function `score` uses, once per distinct (question, value)
  pair.
* Within aspect a, each question's earnings are counted in integer units: fraction x weight x D_a / g_a, where
  D_a clears every denominator of the aspect's weights and option, band and yes/no scores and g_a is the gcd
  of all the resulting unit values. A multi_choice sum of option units stays whole, and so does its cap (the
  weight itself). So E_a (earned) and M_a (maximum) are integers with 0 <= E_a <= M_a <= M_full_a, the
  aspect's full maximum.
* The published aspect score in cents is floor((20000 E_a + M_a) / (2 M_a)) (half-up of 10000 E_a / M_a, all
  terms non-negative). int64 holds it when 20001 x M_full_a < 2**63; otherwise Python integers are used.
* The SAQ score in cents is half-up of 10000 x sum_a(W_a E_a / M_a) / W over the applicable aspects (W their
  weight sum, aspect weights scaled to integers). Submissions are grouped by their vector of maxima (one group
  without conditions); per group, with L = lcm of the M_a and c_a = W_a L / M_a reduced together with K = W L
  by their gcd, the score is floor((20000 N + K) / (2 K)) with N = sum_a c_a E_a <= K. int64 holds it when
  20001 K < 2**63; otherwise that group uses Python integers.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._compiled import CompiledTemplate, InvalidValue, evaluate
from scoring.answers import AnswerError, AnswerProblem
from scoring.template import Template

# pandas' own hash table of Python objects, the one `pd.factorize` uses for values that are not all strings.
# Called directly it hashes each value once; `pd.factorize` first checks that every value is a string and,
# for strings, reads each of them twice: three passes over millions of string objects instead of one.
_hash_table: Any
try:
    from pandas._libs import hashtable as _pandas_hashtable  # type: ignore[attr-defined]

    _hash_table = _pandas_hashtable.PyObjectHashTable
except (ImportError, AttributeError):  # pragma: no cover - a pandas without it: the public route, slower
    _hash_table = None

__all__ = ["score_many"]

INT64_LIMIT = 2**63
COLUMNS = ("submission_id", "question_code", "value", "has_evidence")
_DIRECT_TABLE_LIMIT = 1 << 22

IntArray = npt.NDArray[np.int64]
Ints = npt.NDArray[np.signedinteger[Any]]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class _Units:
    """The integer counting units of a template's questions (see the module docstring)."""

    factor: tuple[Fraction, ...]
    maximum: tuple[int, ...]
    aspect_maximum: tuple[int, ...]
    aspect_weight: tuple[int, ...]


def _units(compiled: CompiledTemplate) -> _Units:
    factor = [Fraction(0)] * len(compiled.questions)
    maximum = [0] * len(compiled.questions)
    aspect_maximum = []
    for aspect in compiled.aspects:
        scored = [compiled.questions[index] for index in aspect.questions if compiled.questions[index].scored]
        scores = {
            question.index: [*question.scores.values(), *(score for _, score in question.bands), Fraction(1)]
            for question in scored
        }
        denominator = math.lcm(
            1,
            *(
                question.weight.denominator
                * math.lcm(*(score.denominator for score in scores[question.index]))
                for question in scored
            ),
        )
        divisor = math.gcd(
            *(
                int(score * question.weight * denominator)
                for question in scored
                for score in scores[question.index]
                if score
            )
        )
        for question in scored:
            factor[question.index] = question.weight * denominator / divisor
            maximum[question.index] = int(factor[question.index])
        aspect_maximum.append(sum(maximum[index] for index in aspect.questions))
    weights = [Fraction(aspect.weight) for aspect in compiled.aspects]
    scale = math.lcm(*(weight.denominator for weight in weights))
    return _Units(
        factor=tuple(factor),
        maximum=tuple(maximum),
        aspect_maximum=tuple(aspect_maximum),
        aspect_weight=tuple(int(weight * scale) for weight in weights),
    )


def score_many(
    template: Template, answers: pd.DataFrame, *, submission_ids: Iterable[Hashable] = ()
) -> pd.DataFrame:
    """Score many submissions of one template at once; the figures equal `score`'s to the cent.

    `answers` has one row per answer, as read from a database, with columns `submission_id`, `question_code`,
    `value` and `has_evidence` (bool); `question_code` and `value` may be categorical. `value` is read as
    `score` reads `Answer.value`: "yes"/"no", an option value, for multi_choice a string of comma-separated
    option values (fastest) or a list of them, for number a numeric string or a number, and None, NaN, "" or
    an empty list for unanswered. `has_evidence` stands for the answer's evidence being non-empty. A
    (submission, question) pair may appear once. `submission_ids` adds submissions that have no rows at all;
    they score as if nothing was answered.

    Returns a DataFrame indexed by `submission_id` (sorted when the ids can be sorted) with columns `score`
    (published Decimal), `band` (band code) and `aspect_<code>` for each aspect (published Decimal, None when
    the aspect dropped out). Raises `AnswerError` for unknown question codes, duplicate answers and values
    that do not fit their question, and ValueError for missing columns.
    """
    missing_columns = [column for column in COLUMNS if column not in answers.columns]
    if missing_columns:
        raise ValueError(f"answers lack the column(s) {', '.join(missing_columns)}")
    compiled = template._compiled
    units = _units(compiled)
    count = len(compiled.questions)
    aspect_bound = max(units.aspect_maximum)
    # Sums of units stay below the aspect bound: int32 or int64 hold them, else exact Python integers do.
    wide_type: type[Any] = np.int64 if aspect_bound < 2**62 else object
    unit_type: type[Any] = np.int32 if aspect_bound < 2**31 else wide_type

    ids, sub = _submissions(answers["submission_id"], submission_ids)
    size = len(ids)
    question = _question_indexes(compiled, answers["question_code"])
    has_evidence = _bools(answers["has_evidence"])

    cell = sub * count if size * count < 2**31 else sub.astype(np.int64) * count
    cell += question
    _check_duplicates(compiled, ids, sub, question, cell, size * count)

    table = _PairTable.build(compiled, units, question, answers["value"], ids, sub, unit_type)
    # One cell per (submission, question): twice the pair's code, plus one when the answer has evidence.
    # Unanswered cells hold twice their question's "no answer" code.
    slots: Ints = np.tile(2 * table.missing.astype(table.code.dtype), size)
    slot = table.code * 2
    slot += has_evidence
    slots[cell] = slot
    del cell, slot
    earned_cells = cast(Ints, table.units[slots].reshape(size, count))
    aspect_of = np.array([q.aspect for q in compiled.questions], dtype=np.intp)
    aspect_maximum = np.broadcast_to(
        np.array(units.aspect_maximum, dtype=wide_type), (size, len(compiled.aspects))
    )
    conditional = [index for index in compiled.order if compiled.questions[index].condition is not None]
    if conditional:
        applicable = np.ones((size, count), dtype=bool)
        answer_slots: Ints = slots.reshape(size, count)
        for index in conditional:
            condition = compiled.questions[index].condition
            assert condition is not None
            target = condition[0]
            applicable[:, index] = applicable[:, target] & table.matches[index][answer_slots[:, target] >> 1]
            earned_cells[:, index] *= applicable[:, index]
        # The maximum an aspect loses through its not-applicable questions.
        lost = np.zeros((len(conditional), len(compiled.aspects)), dtype=wide_type)
        for position, index in enumerate(conditional):
            lost[position, aspect_of[index]] = units.maximum[index]
        aspect_maximum = aspect_maximum - (~applicable[:, conditional]).astype(wide_type) @ lost

    starts = np.array([aspect.questions[0] for aspect in compiled.aspects], dtype=np.intp)
    if size:
        aspect_earned = np.add.reduceat(earned_cells, starts, axis=1).astype(wide_type)
    else:
        aspect_earned = np.zeros((0, len(starts)), dtype=wide_type)

    aspect_cents = _aspect_cents(aspect_earned, aspect_maximum, aspect_bound)
    total_cents = _total_cents(aspect_earned, aspect_maximum, units, uniform=not conditional)
    return _frame(template, ids, total_cents, aspect_cents)


def _submissions(column: pd.Series, extra: Iterable[Hashable]) -> tuple[pd.Index, Ints]:
    """The sorted submission ids, and for each row the position of its submission among them."""
    raw = column.to_numpy()
    extra_ids = list(dict.fromkeys(extra))
    if pd.isna(raw).any():
        raise ValueError("answers have rows without a submission_id")
    extra_array = np.asarray(extra_ids) if extra_ids else np.zeros(0, dtype=np.int64)
    if np.issubdtype(raw.dtype, np.integer) and np.issubdtype(extra_array.dtype, np.integer):
        if len(raw) + len(extra_array) == 0:
            return pd.Index(np.zeros(0, dtype=np.int64), name="submission_id"), np.zeros(0, dtype=np.int32)
        low = min(int(array.min()) for array in (raw, extra_array) if len(array))
        high = max(int(array.max()) for array in (raw, extra_array) if len(array))
        offset = min(low, 0)
        if high - offset < 4 * (len(raw) + len(extra_array)) + 1024:
            present = np.zeros(high - offset + 1, dtype=bool)
            present[raw - offset if offset else raw] = True
            present[extra_array - offset] = True
            rank = np.cumsum(present, dtype=np.int32 if len(present) < 2**31 else np.int64) - 1
            ids = np.flatnonzero(present).astype(np.int64) + offset
            return pd.Index(ids, name="submission_id"), rank[raw - offset if offset else raw]
    codes, uniques = pd.factorize(raw)
    unique_index = pd.Index(uniques)
    if extra_ids:
        extra_index = pd.Index(extra_ids, dtype=object)
        new = extra_index[unique_index.get_indexer(extra_index) < 0]
        if len(new):
            unique_index = unique_index.append(new)
    try:
        order = unique_index.argsort()
    except TypeError:
        order = np.arange(len(unique_index))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    ids = unique_index[order]
    ids.name = "submission_id"
    return ids, cast(Ints, rank[codes])


def _object_values(column: pd.Series) -> ObjectArray:
    values: ObjectArray = column.to_numpy(dtype=object)
    return values


def _factorized(column: pd.Series) -> tuple[Ints, ObjectArray]:
    """Codes (-1 for missing: None, NaN, NA) and distinct values of a column.

    A categorical column is used as it is, without hashing its values again. Otherwise every value is hashed
    once, in one pass over the column (see `_hash_table`).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        return codes, column.cat.categories.to_numpy(dtype=object)
    values = _object_values(column)
    try:
        return _hashed(values)
    except TypeError:
        return _hashed(_tuples(values))


def _hashed(values: ObjectArray) -> tuple[Ints, ObjectArray]:
    if _hash_table is None:
        return pd.factorize(values)
    uniques, codes = _hash_table(max(len(values) // 1024, 256)).factorize(values)
    return codes, uniques


def _question_indexes(compiled: CompiledTemplate, column: pd.Series) -> Ints:
    """For each row, the index of its question in the template; `AnswerError` for unknown or missing codes."""
    if isinstance(column.dtype, pd.CategoricalDtype) or _hash_table is None:
        codes, uniques = _factorized(column)
        index_of = {question.code: question.index for question in compiled.questions}
        mapping = np.array([index_of.get(code, -1) for code in uniques] + [-1], dtype=np.int32)
        question: Ints = mapping[codes]
    else:
        # The template's codes are known: each row's code is looked up among them, one hash per row.
        known = _hash_table(2 * len(compiled.questions))
        known.map_locations(np.array([q.code for q in compiled.questions], dtype=object))
        question = known.lookup(_object_values(column))
    if (question < 0).any():
        raise AnswerError(_code_problems(compiled, column[question < 0]))
    return question


def _code_problems(compiled: CompiledTemplate, column: pd.Series) -> list[AnswerProblem]:
    codes, uniques = pd.factorize(column.to_numpy(dtype=object))
    problems = [
        AnswerProblem(str(code), "question_code", "unknown question code")
        for code in uniques
        if code not in compiled.by_code
    ]
    if (codes < 0).any():
        problems.append(AnswerProblem("", "question_code", "rows without a question code"))
    return problems


def _bools(column: pd.Series) -> BoolArray:
    if column.dtype == bool:
        return column.to_numpy(dtype=bool)
    return column.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _check_duplicates(
    compiled: CompiledTemplate, ids: pd.Index, sub: Ints, question: Ints, cell: Ints, cells: int
) -> None:
    """`AnswerError` when a (submission, question) cell holds two rows."""
    if len(cell) < 2 or bool((cell[1:] > cell[:-1]).all()):
        return  # rows ordered by submission and question (as a database often returns them): no repeats
    row_type = np.int32 if len(cell) < 2**31 else np.int64
    row_numbers = np.arange(len(cell), dtype=row_type)
    first: Ints = np.full(cells, -1, dtype=row_type)
    first[cell] = row_numbers
    duplicate = first[cell] != row_numbers
    if not duplicate.any():
        return
    problems = [
        AnswerProblem(
            compiled.questions[int(index)].code,
            "question_code",
            f"answered twice by submission {_shown(ids[s])}",
        )
        for s, index in dict.fromkeys(zip(sub[duplicate].tolist(), question[duplicate].tolist(), strict=True))
    ]
    raise AnswerError(problems[:100])


@dataclass(frozen=True, slots=True)
class _PairTable:
    """What each distinct (question, value) pair means, looked up per row through `code`.

    `missing[q]` is the code meaning "question q has no answer"; the tables hold 0 and False there.
    `units[2 * code + e]` is what the pair earns without (e = 0) and with (e = 1) evidence.
    `matches[q][code]` tells, for a conditional question q, whether a pair satisfies its condition.
    """

    code: Ints
    missing: Ints
    units: Ints
    matches: dict[int, BoolArray]

    @classmethod
    def build(
        cls,
        compiled: CompiledTemplate,
        units: _Units,
        question: Ints,
        values: pd.Series,
        ids: pd.Index,
        sub: Ints,
        unit_type: type[np.signedinteger[Any]],
    ) -> _PairTable:
        count = len(compiled.questions)
        value_codes, uniques = _factorized(values)
        stride = len(uniques) + 1
        if count * stride > _DIRECT_TABLE_LIMIT and not all(q.scored for q in compiled.questions):
            # Many distinct values, often free text: count only the values of scored questions.
            value_codes = np.where(
                np.array([q.scored for q in compiled.questions], dtype=bool)[question], value_codes, -1
            )
            used = np.bincount(value_codes + 1, minlength=stride) > 0
            used[0] = True
            renumber = np.cumsum(used) - 2
            value_codes = renumber[value_codes + 1]
            uniques = uniques[used[1:]]
            stride = len(uniques) + 1
        key: Ints = value_codes if value_codes.dtype == np.int64 else value_codes.astype(np.int64)
        key += 1
        key += np.multiply(question, stride, dtype=np.int64)

        if count * stride <= max(_DIRECT_TABLE_LIMIT, 2 * len(key)):
            present = np.zeros(count * stride, dtype=bool)
            present[key] = True
            pairs = np.flatnonzero(present)
            slots = pairs
            code = key
            missing = np.arange(count, dtype=np.int64) * stride
            size = count * stride
        else:
            code, pairs = pd.factorize(key)
            slots = np.arange(len(pairs))
            missing = np.full(count, len(pairs), dtype=np.int64)
            size = len(pairs) + 1

        table_units = np.zeros(2 * size, dtype=unit_type)
        matches = {q.index: np.zeros(size, dtype=bool) for q in compiled.questions if q.condition is not None}
        dependants: dict[int, list[int]] = {}
        for q in compiled.questions:
            if q.condition is not None:
                dependants.setdefault(q.condition[0], []).append(q.index)

        problems: list[tuple[str, str, int]] = []
        for slot, pair in zip(slots.tolist(), pairs.tolist(), strict=True):
            q = compiled.questions[pair // stride]
            value_code = pair % stride - 1
            if not q.scored:
                continue
            try:
                fraction, chosen = evaluate(q, None if value_code < 0 else uniques[value_code])
            except InvalidValue as exc:
                problems.append((q.code, str(exc), pair))
                continue
            if fraction is None:
                continue
            amount = fraction * units.factor[q.index]
            if amount.denominator != 1:
                raise AssertionError(f"{q.code}: a value is not a whole number of units")
            table_units[2 * slot + 1] = amount.numerator
            table_units[2 * slot] = 0 if fraction and q.evidence_required else amount.numerator
            for dependant in dependants.get(q.index, ()):
                condition = compiled.questions[dependant].condition
                assert condition is not None
                matches[dependant][slot] = not condition[1].isdisjoint(chosen)
        if problems:
            raise AnswerError(_value_problems(problems, key, ids, sub))
        return cls(code, cast(Ints, missing), table_units, matches)


def _tuples(values: ObjectArray) -> ObjectArray:
    converted = values.copy()
    for position, value in enumerate(values):
        if isinstance(value, list):
            converted[position] = tuple(value)
    return converted


def _value_problems(
    problems: list[tuple[str, str, int]], key: Ints, ids: pd.Index, sub: Ints
) -> list[AnswerProblem]:
    result = []
    for code, message, pair in problems:
        rows = np.flatnonzero(key == pair)[:3]
        examples = ", ".join(_shown(ids[s]) for s in sub[rows].tolist())
        result.append(AnswerProblem(code, "value", f"{message} (submission {examples})"))
    return result


def _shown(identifier: object) -> str:
    return repr(identifier.item() if isinstance(identifier, np.generic) else identifier)


def _aspect_cents(earned: IntArray, maximum: IntArray, bound: int) -> IntArray:
    applicable = maximum > 0
    if 20001 * bound < INT64_LIMIT:
        safe = np.where(applicable, maximum, 1)
        cents = (20000 * earned + safe) // (2 * safe)
    else:
        earned_objects = earned.astype(object)
        safe_objects = np.where(applicable, maximum, 1).astype(object)
        cents = ((20000 * earned_objects + safe_objects) // (2 * safe_objects)).astype(np.int64)
    return np.where(applicable, cents, -1)


def _total_cents(earned: IntArray, maximum: IntArray, units: _Units, *, uniform: bool) -> IntArray:
    """The published SAQ score in cents; `uniform` says every submission has the same aspect maxima."""
    size = len(earned)
    cents = np.zeros(size, dtype=np.int64)
    if size == 0:
        return cents
    if uniform:
        patterns, group = [maximum[0].tolist()], np.zeros(size, dtype=np.intp)
    else:
        patterns, group = _patterns(maximum, units.aspect_maximum)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(patterns) + 1))
    for number, pattern in enumerate(patterns):
        members = order[bounds[number] : bounds[number + 1]]
        applicable = [a for a, m in enumerate(pattern) if m > 0]
        if not applicable:
            continue
        lcm = math.lcm(*(pattern[a] for a in applicable))
        weight = sum(units.aspect_weight[a] for a in applicable)
        coefficients = [
            units.aspect_weight[a] * lcm // pattern[a] if pattern[a] else 0 for a in range(len(pattern))
        ]
        divisor = math.gcd(weight * lcm, *coefficients)
        coefficients = [c // divisor for c in coefficients]
        scale = weight * lcm // divisor
        block = earned if len(patterns) == 1 else earned[members]
        if 20001 * scale < INT64_LIMIT:
            numerator = block @ np.array(coefficients, dtype=np.int64)
            result = (20000 * numerator + scale) // (2 * scale)
        else:
            numerator_objects = block.astype(object) @ np.array(coefficients, dtype=object)
            result = ((20000 * numerator_objects + scale) // (2 * scale)).astype(np.int64)
        if len(patterns) == 1:
            cents[:] = result
        else:
            cents[members] = result
    return cents


def _patterns(maximum: IntArray, bounds: tuple[int, ...]) -> tuple[list[list[int]], npt.NDArray[np.intp]]:
    """The distinct rows of `maximum` and, for each row, the number of its pattern."""
    radix = [math.prod(bound + 1 for bound in bounds[:a]) for a in range(len(bounds))]
    if math.prod(bound + 1 for bound in bounds) < INT64_LIMIT:
        keys = maximum @ np.array(radix, dtype=np.int64)
        _, first, group = np.unique(keys, return_index=True, return_inverse=True)
        return maximum[first].tolist(), group.reshape(-1)
    numbers: dict[tuple[int, ...], int] = {}
    group = np.array(
        [numbers.setdefault(tuple(row), len(numbers)) for row in maximum.tolist()], dtype=np.intp
    )
    return [list(pattern) for pattern in numbers], group


def _frame(template: Template, ids: pd.Index, total: IntArray, aspects: IntArray) -> pd.DataFrame:
    published = np.empty(10002, dtype=object)
    published[:10001] = [Decimal(cents).scaleb(-2) for cents in range(10001)]
    published[10001] = None
    ascending = np.array([math.ceil(band.min * 100) for band in reversed(template.bands)], dtype=np.int64)
    band_codes = np.array([band.code for band in reversed(template.bands)], dtype=object)
    position = np.searchsorted(ascending, total, side="right") - 1
    if (position < 0).any():
        raise ValueError("a score falls below every band: the last band must have min 0")
    columns: dict[str, object] = {"score": published[total], "band": band_codes[position]}
    for number, aspect in enumerate(template.aspects):
        columns[f"aspect_{aspect.code}"] = published[
            np.where(aspects[:, number] < 0, 10001, aspects[:, number])
        ]
    return pd.DataFrame(columns, index=ids)
