"""May ``audit sample -o SAMPLE.csv`` write there? (`check_sample_target`)

A sample replaces nothing of the user's: an existing file at ``-o`` is refused unless
``--overwrite`` is given, and even then only an earlier audit sample of ours is replaced (its
header ends with the ``audit_*`` and ``verdict`` columns and its provenance sidecar says it is an
audit sample). A provenance file (``*.provenance.json``: the input's own, a score output's) is
never a target, and the sidecar the sample writes (``SAMPLE.csv.provenance.json``) never
replaces a file that is not an audit sample's provenance. Every message names the user's file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from app.core.audit.sample_format import AUDIT_COLUMNS, SIDECAR_KIND
from app.core.common import portable_fs
from app.core.common.errors import InputError
from app.core.common.output_guard import PROVENANCE_SUFFIX, provenance_path


def is_sample_sidecar(path: Path) -> bool:
    """`path` is an audit sample's provenance (JSON whose ``kind`` says so)."""
    head = portable_fs.read_head(path)
    try:
        data = json.loads(head.decode("utf-8")) if head else None
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("kind") == SIDECAR_KIND


def is_earlier_sample(path: Path) -> bool:
    """`path` is an audit sample we wrote: its header ends with our columns and its sidecar is
    an audit sample's provenance."""
    head = portable_fs.read_head(path)
    if not head:
        return False
    header = next(csv.reader(io.StringIO(head.decode("utf-8-sig", "replace"))), None)
    tail = list(AUDIT_COLUMNS)
    return (
        header is not None
        and header[-len(tail) :] == tail
        and is_sample_sidecar(provenance_path(path))
    )


def check_sample_target(output: Path, *, overwrite: bool) -> str | None:
    """None if nothing is at `output`, "earlier" if `overwrite` replaces an earlier sample;
    InputError (one line naming the file) for anything else."""
    output = Path(output)
    if output.name.endswith(PROVENANCE_SUFFIX):
        raise InputError(
            f"{output}: refusing to write an audit sample over a provenance file; choose a "
            "name ending in .csv"
        )
    sidecar = provenance_path(output)
    if os.path.lexists(sidecar) and not is_sample_sidecar(sidecar):
        raise InputError(
            f"{sidecar}: already exists and is not an audit sample's provenance file (the "
            f"sample's would replace it); choose another name for {output.name}"
        )
    if not os.path.lexists(output):
        return None
    if not overwrite:
        raise InputError(
            f"{output}: already exists; choose another name, or add --overwrite to replace an "
            "earlier audit sample"
        )
    if not is_earlier_sample(output):
        raise InputError(
            f"{output}: already exists and is not an earlier audit sample (with its "
            "provenance); refusing to replace it even with --overwrite; choose another name"
        )
    return "earlier"
