"""The profile's "indikator yang paling perlu ditingkatkan": points lost per aspect, worked out by hand."""

from __future__ import annotations

from decimal import Decimal

from app.portal.service import aspect_losses

ASPECTS = [("1", "Jenis Informasi", Decimal(60)), ("2", "Digitalisasi", Decimal(40))]


def lost(scores: dict[str, str]) -> list[tuple[str, Decimal]]:
    return [(a.code, a.lost) for a in aspect_losses(ASPECTS, {k: Decimal(v) for k, v in scores.items()})]


def test_points_lost_are_weighted_and_ordered_most_first() -> None:
    # (100 - 50) x 60 / 100 = 30; (100 - 75) x 40 / 100 = 10
    assert lost({"1": "50.00", "2": "75.00"}) == [("1", Decimal("30.00")), ("2", Decimal("10.00"))]
    assert lost({"1": "95.00", "2": "50.00"}) == [("2", Decimal("20.00")), ("1", Decimal("3.00"))]


def test_an_aspect_that_dropped_out_leaves_its_weight_to_the_others() -> None:
    # Digitalisasi had no applicable question: Jenis Informasi weighs 100, so a score of 50 loses 50 points
    # (the SAQ score is 50), not (100 - 50) x 60 / 100 = 30.
    assert lost({"1": "50.00"}) == [("1", Decimal("50.00"))]


def test_losses_are_rounded_once_half_up() -> None:
    # Three aspects of weight 30 (each weighs a third): b loses 33.34 / 3 = 11.1133..., a 33.33 / 3 = 11.11;
    # ordered on the exact figures, each rounded once to 11.11.
    three = [("a", "A", Decimal(30)), ("b", "B", Decimal(30)), ("c", "C", Decimal(30))]
    found = aspect_losses(three, {"a": Decimal("66.67"), "b": Decimal("66.66"), "c": Decimal("100.00")})
    assert [(a.code, a.lost) for a in found] == [
        ("b", Decimal("11.11")),
        ("a", Decimal("11.11")),
        ("c", Decimal("0.00")),
    ]
