"""The decision record's PDF page: rendered, converted to PNG with pdfium, and checked (A4, not
blank, its text holds the threshold and the author); the PNG is kept to be looked at."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from app.core.common.errors import InputError
from app.reports.decision_pdf import render_pdf, write_pdf
from tests.test_decision_records import make

SHOTS = Path(os.environ.get("ABUSE_DESK_SHOTS", "/tmp/shots15"))


def test_pdf_is_one_a4_page_with_the_threshold_and_author(tmp_path: Path):
    rng = np.random.default_rng(3)
    labels = rng.random(400) < 0.3
    scores = np.clip(rng.normal(np.where(labels, 0.7, 0.3), 0.18), 0, 1)
    from app.core.analysis.thresholds import ThresholdAnalysis
    from app.core.decisions.records import Policy

    record = make(
        analysis=ThresholdAnalysis(scores, labels.astype(int)), policy=Policy(0.62),
        previous=Policy(0.45), prevalence=0.05, volume=20000,
        rationale="Analysts drown in false alarms at 0.45; 0.62 keeps recall near 80 % on the "
        "evaluation set and halves the review queue. Revisit after the January audit sample.",
    )  # fmt: skip
    data = render_pdf(record)
    assert render_pdf(record) == data  # reproducible
    out = tmp_path / "d.pdf"
    write_pdf(record, out)
    with pytest.raises(InputError, match="already exists"):
        write_pdf(record, out)
    write_pdf(record, out, overwrite=True)
    pdf = pdfium.PdfDocument(out)
    assert len(pdf) == 1
    page = pdf[0]
    width, height = page.get_size()  # points
    assert (width, height) == pytest.approx((595.3, 841.9), abs=1.5)  # A4
    text = page.get_textpage().get_text_range()
    assert "threshold 0.62" in text and "alice" in text and "0.45" in text
    assert "prevalence 5.0%" in text
    image = page.render(scale=1.5).to_pil()
    pixels = np.asarray(image.convert("L"))
    assert (pixels < 128).mean() > 0.01  # ink on the page
    assert (pixels > 250).mean() > 0.5  # mostly paper
    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SHOTS / "decision.png")
