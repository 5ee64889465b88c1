"""In chromium: a reviewer opens the comparison table with three models evaluated, finds one row per
variant, the loss chart drawn by plotly, downloads the CSV; with every column filled and flagged, the
page does not scroll sideways on a 1,440 x 900 or 1,280 x 800 screen (the table scrolls inside its box)."""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_user
from evaluation_world import done_job, import_benchmarks
from results_world import scored_run

from evaluation.results import COLUMNS
from evaluation.runner import run_evaluation
from evaluation.services import create_evaluation_run
from training.models import LossPoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FLAGS = [
    {"code": "pope_yes_bias", "message": "100% of POPE answers are yes", "parsers": ["reference", "french"]},
    {"code": "unparseable", "message": "45% of answers are empty or unreadable", "parsers": ["reference"]},
    {"code": "wrong_language", "message": "30% of answers are not in the expected language (fr)", "parsers": ["reference"]},
]


def log_in(page, url: str) -> None:
    page.goto(url + "/accounts/login/")
    page.fill("#id_username", "rev")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def loss_points(job, stages: int = 1) -> None:
    LossPoint.objects.bulk_create(
        LossPoint(job=job, stage_index=stage, step=s, loss=3.0 / s + stage, lr=1e-3)
        for stage in range(stages) for s in (1, 2, 3)
    )  # fmt: skip


def test_reviewer_compares_variants_and_downloads_the_csv(small_world, model_root, settings, live_server, browser_page):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    import_benchmarks(small_world, "pope", "scienceqa")
    base, variant2 = done_job("tiny", name="base"), done_job("tiny", template="variant2")
    loss_points(base)
    for model in ({"training_job": base}, {"training_job": variant2}, {"model_path": "tiny", "name": "checkpoint"}):
        for benchmark, split in (("pope", "random"), ("scienceqa", "test")):
            run = create_evaluation_run(**model, benchmark=benchmark, split=split, language="en", max_new_tokens=2,
                                        limit=6, enqueue=False)  # fmt: skip
            assert run_evaluation(run.pk).state == "done"
    make_user("rev", "reviewer", password=True)
    page, url = browser_page, live_server.url
    log_in(page, url)
    page.click("text=Results")
    page.wait_for_selector("[data-testid=results]")
    variants = page.eval_on_selector_all("tr[data-variant]", "rows => rows.map(r => r.dataset.variant)")
    assert variants == ["checkpoint", "english_base", "variant2"]
    assert page.locator("tr[data-variant=english_base] td > a").count() == 2  # POPE random EN and ScienceQA EN
    page.wait_for_selector("#loss-chart[data-state=drawn]")
    assert page.locator("#loss-chart .scatterlayer .trace").count() == 1  # plotly drew the one stage's curve
    with page.expect_download() as download:
        page.click("[data-testid=csv]")
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert len(lines) == 4 and lines[2].startswith("english_base,")


def test_a_full_table_fits_a_laptop_screen_and_the_loss_chart_is_drawn(settings, live_server, browser_page):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    jobs = [done_job("base", name="base"), *(done_job(f"v{i}", template=f"variant{i}") for i in (2, 3, 4))]
    for job in jobs:
        loss_points(job, stages=2)
    for i, job in enumerate(jobs):
        for key, language in COLUMNS:
            benchmark, _, split = key.partition("/")
            scored_run(job, benchmark, split or "test", language, 0.4 + i / 20, flags=FLAGS, french=0.35 + i / 20)
            if language == "fr" and i == 0:
                scored_run(job, benchmark, split or "test", "fr", 0.3, pipeline="translation_only", english=0.5,
                           flags=FLAGS)  # fmt: skip
    make_user("rev", "reviewer", password=True)
    page, url = browser_page, live_server.url
    log_in(page, url)
    for width, height in ((1440, 900), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url + "/results/")
        page.wait_for_selector("#loss-chart[data-state=drawn]")
        assert page.locator("#loss-chart .scatterlayer .trace").count() == len(jobs) * 2  # a line per job and stage
        assert page.locator("#loss-chart .scatterlayer .trace path.js-line").count() == len(jobs) * 2
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= width, f"the page is {page_width} px wide in a {width} px window"
        box = page.locator("[data-testid=results-scroll]").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.locator("tr[data-variant] td.result").count() == 5 * len(COLUMNS)
    # one marker per flagged cell; its detail opens on click
    assert page.locator("tr[data-variant=variant4] details.diag").count() == len(COLUMNS)
    first = page.locator("tr[data-variant=variant4] details.diag").first
    first.locator("summary").click()
    assert first.locator("li[data-flag=unparseable]").is_visible()
    assert page.locator("tr[data-variant=variant4] .best-mark").count() == len(COLUMNS)  # the best model everywhere
