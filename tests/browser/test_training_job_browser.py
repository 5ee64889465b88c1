"""In chromium: a reviewer opens a finished training job and sees its loss curve drawn by plotly.js
(served locally), one line per stage, with the job's stages and data beside it."""

from __future__ import annotations

import pytest
from campaign_world import PASSWORD, make_user
from jobs_world import english_dataset

from training.job_runner import run_job
from training.jobs import create_training_job

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
def test_finished_job_page_draws_the_loss_curve(tmp_path, settings, live_server, browser_page):
    settings.MODEL_ROOT = tmp_path / "models"
    settings.TRAINING_THREADS = 1
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    dataset = english_dataset(tmp_path / "data")
    job = create_training_job(template="english_base", data={"en_pretrain": dataset, "en_finetune": dataset},
                              overrides={"max_steps": 4, "batch_size": 4}, log_every=1, enqueue=False)
    assert run_job(job.pk).state == "done"
    make_user("rev", "reviewer", password=True)

    page, base = browser_page, live_server.url
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "rev")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.click("nav >> text=Training")
    page.click(f"text=#{job.pk}")
    page.wait_for_selector("#loss-chart svg.main-svg", timeout=20000)
    assert page.locator("#loss-chart .scatterlayer .trace").count() == 2  # pretrain and finetune
    assert page.locator("#loss-chart .legendtext").all_text_contents() == ["pretrain", "finetune"]
    assert page.inner_text("[data-testid=state]") == "done"
    assert "dataset #" in page.inner_text("main")
