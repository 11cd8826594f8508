"""E-Monev SAQ scoring: the template format and the one scoring rule, pure and exact.

The rule, applied by this one engine everywhere (API, pages, recaps):

* A question earns ``fraction x weight``. ``yes_no``: yes 1, no 0; ``choice``: the option's score (0 to 1);
  ``multi_choice``: the sum of the chosen options' scores, capped at 1; ``number``: the score of the highest
  band whose minimum the value reaches (0 below every band); ``text``: never scored.
* Unanswered earns 0 (``unanswered``). An answer that would earn something but lacks the evidence its question
  requires earns 0 (``evidence_missing``). A question whose condition (``when``) is false is
  ``not_applicable`` and leaves its aspect's maximum.
* Aspect score = 100 x earned / maximum over its applicable questions. An aspect with no applicable question
  drops out, and the weights of the remaining aspects are rescaled to 100 (if every aspect drops out, the
  score is 0).
* SAQ score = sum of aspect score x aspect weight / 100. The verified SAQ score applies the same rule to the
  verified values.
* A later stage's score is the mean of its judges' scores (``panel_score``).
* Final score = sum of published stage scores x stage weights / 100 (the SAQ is a stage; weights per round).
* Arithmetic is exact; a figure is rounded half-up to 2 decimals once, when it is published (89.995 becomes
  90.00, 89.985 becomes 89.99). The band is decided on the published figure, so a printed score and its label
  never disagree.

This package reads no files, opens no connections and asks no clock: callers pass text and answers in.
"""

from typing import TYPE_CHECKING, Any

from scoring.answers import Answer, AnswerError, AnswerProblem, parse_answers
from scoring.engine import (
    AspectScore,
    QuestionScore,
    QuestionStatus,
    ScoreCard,
    band_for,
    final_score,
    panel_score,
    publish,
    score,
)
from scoring.template import (
    Aspect,
    Band,
    Condition,
    EvidenceRule,
    Group,
    NumberBand,
    Option,
    Question,
    QuestionEntry,
    QuestionType,
    Template,
    TemplateError,
    TemplateProblem,
    check_versions,
    parse_template,
)

if TYPE_CHECKING:
    from scoring.batch import score_many

__all__ = [
    "Answer",
    "AnswerError",
    "AnswerProblem",
    "Aspect",
    "AspectScore",
    "Band",
    "Condition",
    "EvidenceRule",
    "Group",
    "NumberBand",
    "Option",
    "Question",
    "QuestionEntry",
    "QuestionScore",
    "QuestionStatus",
    "QuestionType",
    "ScoreCard",
    "Template",
    "TemplateError",
    "TemplateProblem",
    "band_for",
    "check_versions",
    "final_score",
    "panel_score",
    "parse_answers",
    "parse_template",
    "publish",
    "score",
    "score_many",
]


def __getattr__(name: str) -> Any:
    # score_many brings numpy and pandas (about half a second to import): loaded when first used, not by
    # every process that imports scoring (the service's workers start faster).
    if name == "score_many":
        from scoring.batch import score_many

        return score_many
    raise AttributeError(f"module 'scoring' has no attribute {name!r}")
