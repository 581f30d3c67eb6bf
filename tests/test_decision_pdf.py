"""The decision record's PDF page: rendered, converted to PNG with pdfium, and checked (A4, not
blank, its text holds the threshold and the author); the PNG is kept to be looked at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from app.core.common.errors import InputError
from app.core.decisions.records import DataSource
from app.reports.decision_pdf import render_pdf, write_pdf
from tests.test_decision_records import make

SHOTS = Path(__file__).resolve().parent / "_artifacts"


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


def test_pdf_shows_the_day_at_the_traffic_and_the_bands(tmp_path: Path):
    from app.core.analysis.thresholds import ThresholdAnalysis
    from app.core.decisions.records import Policy

    rng = np.random.default_rng(3)
    labels = rng.random(400) < 0.3
    scores = np.clip(rng.normal(np.where(labels, 0.7, 0.3), 0.18), 0, 1)
    analysis = ThresholdAnalysis(scores, labels.astype(int))
    record = make(
        analysis=analysis, policy=Policy(0.55, 0.8), previous=Policy(0.45),
        prevalence=0.05, volume=20000,
        rationale="Three bands: escalate what is almost surely abusive, review the rest above "
        "0.55; the review queue fits four reviewers at 5 % abusive traffic.",
    )  # fmt: skip
    day = record.day_new
    assert day is not None and record.bands_per_day is not None
    out = tmp_path / "traffic.pdf"
    write_pdf(record, out)
    page = pdfium.PdfDocument(out)[0]
    text = page.get_textpage().get_text_range()
    assert "At 5.0% abusive, 20,000 a day" in text
    for words in ("flagged per day", "caught per day", "missed per day", "false alarms per day",
                  "precision at the prevalence"):  # fmt: skip
        assert words in text
    assert f"{day['flagged']:,.0f}" in text and f"{day['false_alarms']:,.0f}" in text
    assert f"{record.day_previous['flagged']:,.0f}" in text
    b = record.bands_per_day
    assert f"escalate {b['escalate']:,.0f}" in text and f"review {b['review']:,.0f}" in text
    image = page.render(scale=1.5).to_pil()
    pixels = np.asarray(image.convert("L"))
    assert (pixels[-20:] > 250).all()  # nothing runs off the bottom edge
    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SHOTS / "decision_traffic.png")


def test_pdf_of_an_audit_sample_record_says_estimates(tmp_path: Path):
    from app.core.audit import sample_source
    from app.core.decisions.evidence import source_of_dataset
    from app.core.decisions.records import Policy
    from tests.test_audit_sources import fill_verdicts, make_sample

    path = make_sample(tmp_path)
    fill_verdicts(path)
    ds = sample_source.audit_dataset(sample_source.from_file(path))
    record = make(
        analysis=ds.analysis, resampler=ds.resampler, source=source_of_dataset(ds),
        policy=Policy(0.5), previous=Policy(0.45), prevalence=0.05, volume=10000,
    )  # fmt: skip
    assert record.at_new.estimated
    text = pdfium.PdfDocument(render_pdf(record))[0].get_textpage().get_text_range()
    assert f"≈ {round(record.at_new.tp):,}" in text
    assert "stratified-bootstrap 95 % intervals" in text
    assert f"from {record.at_new.n_labelled:,} labelled" in text
    assert "Wilson" not in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdfium.PdfDocument(render_pdf(record))[0].render(scale=1.5).to_pil().save(
        SHOTS / "decision_sample.png"
    )


def _words_with_y(page: pdfium.PdfPage) -> list[tuple[str, float, float, float]]:
    """(text, left, bottom, right) of every character run the page's text layer holds, in
    points; split into words so each can be found by its place."""
    textpage = page.get_textpage()
    out = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        out.append((textpage.get_text_bounded(left, bottom, right, top), left, bottom, right))
    return out


LONG_RATIONALES = {
    "x": "x" * 1999,
    "words": ("word " * 400)[:1999],
    "emoji": "😂" * 2000,
    "lines": "\n".join(f"line {i}" for i in range(300))[:2000],
    "rtl": ("\u202eשלום עולם مرحبا بالعالم \u200f\x1b[31m\x07 " * 60)[:2000],
}


@pytest.mark.parametrize("kind", sorted(LONG_RATIONALES))
def test_a_long_rationale_never_pushes_the_numbers_off_the_page(kind: str):
    """Worst cases the app accepts (2,000 characters): the rationale is wrapped to the page and
    cut with a "continued" line, and the rates table, the curves and the footer stay on the A4
    page, in order, the footer below everything."""
    from app.core.analysis.thresholds import ThresholdAnalysis
    from app.core.decisions.records import Policy

    rng = np.random.default_rng(3)
    labels = rng.random(400) < 0.3
    scores = np.clip(rng.normal(np.where(labels, 0.7, 0.3), 0.18), 0, 1)
    rationale = LONG_RATIONALES[kind]
    record = make(
        analysis=ThresholdAnalysis(scores, labels.astype(int)), policy=Policy(0.55, 0.8),
        previous=Policy(0.45), prevalence=0.05, volume=20000, rationale=rationale,
        source=DataSource("x" * 240 + ".csv", "csv", "ab" * 32),
    )  # fmt: skip
    page = pdfium.PdfDocument(render_pdf(record))[0]
    width, height = page.get_size()
    runs = _words_with_y(page)
    assert all(0 <= left and right <= width and 0 <= bottom <= height
               for _, left, bottom, right in runs)  # fmt: skip
    text = page.get_textpage().get_text_range()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "continued: the full text is in the record" in text
    assert f"{len(record.rationale):,} characters" in text

    def y_of(words: str) -> float:
        found = [bottom for run, _, bottom, _ in runs if words in run]
        assert found, f"{words!r} is not on the page"
        return found[0]

    footer = y_of("abuse-desk decision record")
    # (the PDF's text layer splits "fl" ligatures: the words looked for have none)
    assert footer < y_of("Per-day numbers") < y_of("false alarms per day")
    assert y_of("false alarms per day") < y_of("false positive rate") < y_of("threshold (")
    assert y_of("threshold (") < y_of("Precision and") < y_of("Chosen") < y_of("Rationale")
    assert y_of("Rationale") < y_of("Applied")
    assert footer > 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.render(scale=1.5).to_pil().save(SHOTS / f"decision_long_{kind}.png")


def test_a_short_rationale_is_shown_whole_and_the_source_worded_once():
    record = make(rationale="one\ntwo  three", source=DataSource("s.csv (147 labelled items)",
                  "sample", "ab" * 32))  # fmt: skip
    text = pdfium.PdfDocument(render_pdf(record))[0].get_textpage().get_text_range()
    assert "continued" not in text and "one" in text and "two three" in text
    assert "(sample)" not in text and "s.csv (147 labelled items) — sample" in text
