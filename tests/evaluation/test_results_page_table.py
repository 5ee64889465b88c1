"""The results page read at a glance: percentages with one decimal, columns grouped by benchmark,
the best value of each column marked, one diagnostic marker per cell that never says yes-bias and
no-bias at once, the translation-only row's English columns holding the model's direct English
runs, the loss chart's data encoded once, and the CSV in the same unit."""

from __future__ import annotations

import json
import re

import pytest
from campaign_world import make_user
from evaluation_world import done_job
from results_world import scored_run

from training.models import LossPoint

pytestmark = pytest.mark.django_db

YES_BIAS = {"code": "pope_yes_bias", "message": "100% of POPE answers are yes", "parsers": ["reference", "lmms_eval"]}
NO_BIAS = {"code": "pope_no_bias", "message": "0% of POPE answers are yes", "parsers": ["french"]}
UNREADABLE = {"code": "unparseable", "message": "40% of answers are empty or unreadable", "parsers": ["reference"]}


@pytest.fixture
def reviewer_client(client):
    client.force_login(make_user("rev", "reviewer"))
    return client


def row_html(page: str, variant: str) -> str:
    match = re.search(rf'<tr data-variant="{re.escape(variant)}">(.*?)</tr>', page, re.S)
    assert match, f"no row {variant!r}"
    return match.group(1)


def cells(row: str) -> list[str]:
    return re.findall(r"<td class=\"num result.*?</td>", row, re.S)


def test_numbers_are_percent_and_the_best_of_each_column_is_marked(reviewer_client):
    base, variant = done_job("base-model"), done_job("variant-model", template="variant2")
    scored_run(base, "scienceqa", "test", "en", 0.61234)
    scored_run(variant, "scienceqa", "test", "en", 0.7)
    scored_run(variant, "pope", "random", "en", 0.5)  # alone in its column: nothing to compare, no mark
    page = reviewer_client.get("/results/").content.decode()
    assert '<th scope="colgroup" colspan="2" class="group">ScienceQA <small>accuracy %</small></th>' in page
    assert "61.2" in page and "0.612" not in page  # one unit: percent, one decimal
    best = row_html(page, "variant2")
    assert "<strong>70.0</strong>" in best and 'aria-label="best in this column"' in best
    assert best.count("best-mark") == 1  # POPE random has a single value
    assert "best-mark" not in row_html(page, "english_base") and "<strong>" not in row_html(page, "english_base")
    assert "65.0–75.0" in best  # the 95% interval, in percent


def test_a_cell_shows_one_diagnostic_marker_and_never_both_biases(reviewer_client):
    base = done_job("base-model")
    scored_run(base, "pope", "random", "fr", 0.667, flags=[NO_BIAS, YES_BIAS, UNREADABLE])
    page = reviewer_client.get("/results/").content.decode()
    (cell,) = [c for c in cells(row_html(page, "english_base")) if "data-run" in c]
    assert cell.count("<details class=\"diag\"") == 1
    assert 'data-flags="pope_yes_bias unparseable"' in cell  # the reference parser's, which the cell reports
    assert "pope_no_bias" not in cell
    assert 'aria-label="2 diagnostics: pope_yes_bias, unparseable"' in cell


def test_the_translation_only_row_has_the_english_models_direct_runs_in_its_english_columns(reviewer_client):
    base = done_job("base-model")
    english = scored_run(base, "scienceqa", "test", "en", 0.55)
    french_direct = scored_run(base, "scienceqa", "test", "fr", 0.30)
    translated = scored_run(base, "scienceqa", "test", "fr", 0.45, pipeline="translation_only", english=0.52)
    page = reviewer_client.get("/results/").content.decode()
    en_cell, fr_cell = [c for c in cells(row_html(page, "translation-only")) if "data-run" in c]
    assert f'data-run="{english.pk}"' in en_cell and "55.0" in en_cell and "direct run" in en_cell
    assert f'data-run="{translated.pk}"' in fr_cell and "45.0" in fr_cell
    assert f'data-run="{french_direct.pk}"' not in row_html(page, "translation-only")
    assert "52.0" not in en_cell  # the pipeline's intermediate English answers are not the English column


def test_translation_only_without_a_direct_english_run_leaves_the_english_column_empty(reviewer_client):
    scored_run(done_job("base-model"), "pope", "random", "fr", 0.6, pipeline="translation_only", english=0.7)
    page = reviewer_client.get("/results/").content.decode()
    runs = [c for c in cells(row_html(page, "translation-only")) if "data-run" in c]
    assert len(runs) == 1 and "60.0" in runs[0]


def test_the_loss_chart_data_is_a_list_of_traces_not_a_string(reviewer_client):
    base = done_job("base-model")
    LossPoint.objects.bulk_create(LossPoint(job=base, stage_index=0, step=s, loss=3.0 / s, lr=1e-3) for s in (1, 2, 3))
    scored_run(base, "scienceqa", "test", "en", 0.5)
    page = reviewer_client.get("/results/").content.decode()
    data = re.search(r'<script id="loss-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    traces = json.loads(data)
    assert isinstance(traces, list) and traces[0]["x"] == [1, 2, 3] and traces[0]["y"][0] == 3.0
    assert "training/results.js" in page and "plotly/plotly.min.js" in page


def test_the_csv_says_percent_in_its_header_and_writes_percent(reviewer_client):
    scored_run(done_job("base-model"), "scienceqa", "test", "en", 0.61234)
    lines = reviewer_client.get("/results.csv").content.decode().splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    at = header.index("scienceqa en (%)")
    assert row[0] == "english_base" and row[at : at + 4] == ["61.2", "56.2", "66.2", "61.2"]
    assert "scienceqa en ci95 low (%)" in header


def test_evaluation_page_uses_percent(reviewer_client):
    run = scored_run(done_job("base-model"), "scienceqa", "test", "en", 0.61234)
    page = reviewer_client.get(f"/evaluations/{run.pk}/").content.decode()
    assert "61.2" in page and "56.2–66.2" in page and "0.612" not in page


def test_unreadable_pope_answers_are_not_a_no_bias_under_lmms_eval() -> None:
    """Gibberish reads as yes to LLaVA's parser and as neither to lmms-eval's: one run was both
    yes- and no-biased. lmms-eval's yes share now counts only the answers it can read."""
    from evaluation.metrics import diagnose

    answers = ["the the the"] * 9 + ["yes"]
    assert [f["code"] for f in diagnose("pope", answers, parser="lmms-eval")] == ["pope_yes_bias", "unparseable"]
    assert [f["code"] for f in diagnose("pope", ["blah"] * 10, parser="lmms-eval")] == ["unparseable"]
    assert [f["code"] for f in diagnose("pope", ["no"] * 9 + ["blah"], parser="lmms-eval")] == ["pope_no_bias"]
