"""Uploaded workbooks are read within fixed bounds (issue 14, problem 8): at most 200 cells in a row and a
million in a sheet are read at all, and a refusal lists at most 100 problems, then how many more."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.errors import MAX_LISTED_PROBLEMS
from app.exports.workbook_safety import CellProblem, cell_problems
from tests.exports.test_bodies_import import post, workbook
from tests.factories import World, problem

pytestmark = pytest.mark.db


def test_a_row_wider_than_200_cells_is_refused_before_openpyxl_reads_it(
    client: TestClient, world: World
) -> None:
    data = workbook([["Kelurahan Lebar", "kelurahan", *(["x"] * 300)]])
    response = post(client, world, data, dry_run=True)
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "file", "message": "more than 200 cells in a row or 1000000 cells in a sheet"}
    ]


def test_a_workbook_with_500_bad_rows_lists_100_problems_then_how_many_more(
    client: TestClient, world: World
) -> None:
    rows = [[f"Kelurahan {i}", "tidak-ada"] for i in range(500)]
    refused = post(client, world, workbook(rows), dry_run=False)
    assert refused.status_code == 422
    body = problem(refused)
    assert len(body["errors"]) == MAX_LISTED_PROBLEMS + 1
    assert body["errors"][-1] == {"field": "", "message": "and 400 more problems"}
    assert len(body["problems"]) == MAX_LISTED_PROBLEMS
    report = post(client, world, workbook(rows), dry_run=True).json()
    assert (len(report["problems"]), report["problems_omitted"]) == (MAX_LISTED_PROBLEMS, 400)


def test_cell_problems_are_listed_up_to_100_in_both_languages() -> None:
    found = [CellProblem("Jawaban", row, "G", "not an answer", "bukan jawaban.") for row in range(2, 152)]
    error = cell_problems("jawaban.xlsx", found, "150 problem(s); nothing was saved")
    assert len(error.errors) == MAX_LISTED_PROBLEMS + 1
    assert (error.errors[-1].message, error.errors[-1].indonesian) == (
        "and 50 more problems",
        "dan 50 masalah lainnya",
    )
    assert len(error.problem()["cells"]) == MAX_LISTED_PROBLEMS
