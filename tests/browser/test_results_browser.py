"""In chromium: a reviewer opens the comparison table with three models evaluated, finds one row per
variant with flags as badges, the loss chart drawn, and downloads the CSV."""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_user
from evaluation_world import done_job, import_benchmarks

from training.evaluation import create_evaluation_run
from training.evaluation_runner import run_evaluation
from training.models import LossPoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
def test_reviewer_compares_variants_and_downloads_the_csv(small_world, model_root, settings, live_server, browser_page):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    import_benchmarks(small_world, "pope", "scienceqa")
    base, variant2 = done_job("tiny", name="base"), done_job("tiny", template="variant2")
    LossPoint.objects.bulk_create(LossPoint(job=base, stage_index=0, step=s, loss=3.0 / s, lr=1e-3) for s in (1, 2, 3))
    for model in ({"training_job": base}, {"training_job": variant2}, {"model_path": "tiny", "name": "checkpoint"}):
        for benchmark, split in (("pope", "random"), ("scienceqa", "test")):
            run = create_evaluation_run(**model, benchmark=benchmark, split=split, language="en", max_new_tokens=2,
                                        limit=6, enqueue=False)  # fmt: skip
            assert run_evaluation(run.pk).state == "done"
    make_user("rev", "reviewer", password=True)
    page, url = browser_page, live_server.url
    page.goto(url + "/accounts/login/")
    page.fill("#id_username", "rev")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    page.click("text=Results")
    page.wait_for_selector("[data-testid=results]")
    variants = page.eval_on_selector_all("tr[data-variant]", "rows => rows.map(r => r.dataset.variant)")
    assert variants == ["checkpoint", "english_base", "variant2"]
    assert page.locator("tr[data-variant=english_base] td a").count() == 2  # POPE random EN and ScienceQA EN
    page.wait_for_selector("#loss-chart .main-svg")  # plotly drew the loss curve
    with page.expect_download() as download:
        page.click("[data-testid=csv]")
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert len(lines) == 4 and lines[2].startswith("english_base,")
