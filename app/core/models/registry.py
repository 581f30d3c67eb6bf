"""The model registry: bundled versions (read-only) and the user's imported ones, verified.

Bundled bundles live in ``models/`` next to the app; imported ones in the user data folder's
``models/`` (see `app.core.models.model_import`). A version is named by its folder (``abuse-lr-1.0.0``),
which is what the settings store; ``find`` also accepts "abuse-lr 1.0.0" or a unique "1.0.0".
Every load goes through the signature policy (`app.core.bundles.signing`) and the hash check.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.core.bundles.bundle import (
    MANIFEST_NAME,
    VerifiedBundle,
    find_bundles,
    load_verified,
    sha256_bytes,
)
from app.core.bundles.bundle_json import BundleDataError, parse_json
from app.core.bundles.encoder_schema import (
    ENCODER_TYPE,
    TOKENIZER_FILE,
    check_encoder_classifier,
    check_tokenizer,
)
from app.core.bundles.signing import SignatureStatus, TrustStore, signature_policy
from app.core.common.errors import AbuseDeskError, ModelError
from app.core.common.paths import bundled_models_dir, user_data_dir
from app.core.engine.scoring import Scorer, default_bundle_path

BUNDLED, USER = "bundled", "user"
LINEAR = "linear"  # the fast engine; ENCODER_TYPE ("encoder") the thorough one (abuse-mini)
CLASSIFIER_FILE = "classifier.json"


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Orders "1.10.0" after "1.9.0"; a non-numeric part sorts after numbers ("1.0.0-rc")."""
    parts = version.replace("-", ".").split(".")
    return tuple((int(p), "") if p.isdigit() else (1 << 30, p) for p in parts)


@dataclass(frozen=True)
class ModelEntry:
    """One installed version as the Models panel and ``models list`` show it."""

    folder: Path
    source: str  # BUNDLED or USER
    name: str = ""
    version: str = ""
    verified: bool = False
    problem: str | None = None  # why it does not verify (or is refused by the signature policy)
    signature: SignatureStatus | None = None
    created_utc: str = ""
    default_threshold: float | None = None
    test_auc: dict[str, float] = field(default_factory=dict)  # "all" and per dataset of origin
    eval_items: int = 0
    size_bytes: int = 0
    engine: str = LINEAR  # LINEAR or ENCODER_TYPE
    max_tokens: int | None = None  # an encoder's token limit ([CLS] and [SEP] included)
    vocabulary: int | None = None  # an encoder's tokenizer vocabulary size

    @property
    def engine_text(self) -> str:
        """ "linear", or "encoder (64 tokens, 30,522-token vocabulary)"."""
        if self.engine != ENCODER_TYPE:
            return self.engine
        return f"encoder ({self.max_tokens} tokens, {self.vocabulary or 0:,}-token vocabulary)"

    default_fast: bool = False  # the bundled model a fresh install starts on (`default_bundled`)

    @property
    def ref(self) -> str:
        return self.folder.name

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.name else self.folder.name

    @property
    def signature_text(self) -> str:
        return self.signature.describe() if self.signature else "—"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "verified": self.verified,
            "problem": self.problem,
            "signature": self.signature_text,
            "created_utc": self.created_utc,
            "default_threshold": self.default_threshold,
            "test_auc": self.test_auc,
            "eval_items": self.eval_items,
            "folder": str(self.folder),
            "engine": self.engine,
            **(
                {"max_tokens": self.max_tokens, "vocabulary": self.vocabulary}
                if self.engine == ENCODER_TYPE
                else {}
            ),
            "default_fast": self.default_fast,
        }


def _headline(manifest: dict[str, Any]) -> dict[str, float]:
    """Test ROC-AUC overall and per dataset, from whichever shape the manifest records."""
    test = manifest.get("metrics", {}).get("test", {})
    out: dict[str, float] = {}
    if isinstance(test, dict):
        for key, value in test.items():
            auc = value.get("auc", value.get("roc_auc")) if isinstance(value, dict) else None
            if isinstance(auc, int | float):
                out[key] = float(auc)
    return out


def _checked_json(bundle: VerifiedBundle, name: str) -> Any:
    """One JSON file of a bundle listed without parsing (``parse=False``), read again and
    checked against the manifest's hash before it is parsed (with the loader's bounds)."""
    data = (bundle.path / name).read_bytes()
    if sha256_bytes(data) != bundle.manifest["files"][name]["sha256"]:
        raise ModelError(f"model bundle {bundle.path}: {name} changed while it was checked")
    try:
        return parse_json(data)
    except BundleDataError as exc:
        raise ModelError(f"model bundle {bundle.path}: {name}: {exc}") from None


def engine_facts(bundle: VerifiedBundle) -> dict[str, Any]:
    """Which engine a bundle scores with, and for an encoder its token limit and vocabulary
    size: what a listing shows, read from the two small files that say it when the bundle was
    checked without parsing (``parse=False``)."""
    listed = bundle.manifest["files"]
    classifier = bundle.json_files.get(CLASSIFIER_FILE)
    if classifier is None and not bundle.json_files and CLASSIFIER_FILE in listed:
        classifier = _checked_json(bundle, CLASSIFIER_FILE)
    if not (isinstance(classifier, dict) and classifier.get("type") == ENCODER_TYPE):
        return {"engine": LINEAR}
    tokenizer = bundle.json_files.get(TOKENIZER_FILE)
    try:
        check_encoder_classifier(classifier)
        if tokenizer is None:
            if TOKENIZER_FILE not in listed:
                raise BundleDataError(f"{TOKENIZER_FILE} is not in the manifest")
            tokenizer = _checked_json(bundle, TOKENIZER_FILE)
        vocabulary = check_tokenizer(tokenizer)
    except BundleDataError as exc:
        raise ModelError(f"model bundle {bundle.path}: {exc}") from None
    return {
        "engine": ENCODER_TYPE,
        "max_tokens": int(classifier["max_tokens"]),
        "vocabulary": vocabulary,
    }


class ModelRegistry:
    def __init__(
        self,
        bundled_dir: Path,
        user_dir: Path,
        trust: TrustStore,
        *,
        allow_unsigned: bool = False,
    ) -> None:
        self.bundled_dir, self.user_dir = bundled_dir, user_dir
        self.trust, self.allow_unsigned = trust, allow_unsigned
        self.check = signature_policy(trust, allow_unsigned)

    @classmethod
    def default(cls, settings: Any = None) -> ModelRegistry:
        allow = bool(getattr(settings, "allow_unsigned_models", False))
        return cls(
            bundled_models_dir(), user_models_dir(), TrustStore.default(), allow_unsigned=allow
        )

    def _folders(self) -> list[tuple[Path, str]]:
        return [(p, BUNDLED) for p in find_bundles(self.bundled_dir)] + [
            (p, USER) for p in find_bundles(self.user_dir)
        ]

    def describe(self, folder: Path, source: str) -> ModelEntry:
        """Check one bundle (hashes and signature, no parsing) and summarise its manifest."""
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        try:
            bundle = load_verified(folder, check_manifest=self.check, parse=False)
            facts = engine_facts(bundle)
        except (ModelError, OSError) as exc:
            return ModelEntry(folder, source, problem=str(exc), size_bytes=size)
        return self._entry(bundle, source, size, facts)

    def _entry(
        self, bundle: VerifiedBundle, source: str, size: int, facts: dict[str, Any]
    ) -> ModelEntry:
        m = bundle.manifest
        threshold = m.get("default_threshold")
        test_all = m.get("metrics", {}).get("test", {}).get("all", {})
        items = test_all.get("n", 0) if isinstance(test_all, dict) else 0
        return ModelEntry(
            bundle.path,
            source,
            name=str(m["name"]),
            version=str(m["version"]),
            verified=True,
            signature=bundle.signature,
            created_utc=str(m.get("created_utc", "")),
            default_threshold=float(threshold) if isinstance(threshold, int | float) else None,
            test_auc=_headline(m),
            eval_items=int(items) if isinstance(items, int) else 0,
            size_bytes=size,
            **facts,
        )

    def entries(self) -> list[ModelEntry]:
        """Every installed version, newest first (bundled before user for equal versions)."""
        found = [self.describe(folder, source) for folder, source in self._folders()]
        default = self._default_or_none()
        found = [
            replace(e, default_fast=True) if e.source == BUNDLED and e.folder == default else e
            for e in found
        ]
        return sorted(
            found,
            key=lambda e: (e.name, version_key(e.version), e.source == BUNDLED),
            reverse=True,
        )

    def find(self, ref: str | Path) -> Path:
        """A bundle folder from a folder name, "name version", a unique version, or a path."""
        path = Path(ref)
        if path.is_dir() and (path / MANIFEST_NAME).exists():
            return path
        text = str(ref).strip()
        folders = self._folders()
        for folder, _source in folders:
            if folder.name == text:
                return folder
        matches = []
        for folder, _source in folders:
            name, _, version = folder.name.rpartition("-")
            if text in (f"{name} {version}", version):
                matches.append(folder)
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(folder.name for folder, _ in folders) or "none"
        why = "is ambiguous" if matches else "is not installed"
        raise ModelError(f"model {text!r} {why} (installed: {known})")

    def load(self, ref: str | Path) -> Scorer:
        """A verified Scorer under the signature policy."""
        return Scorer(load_verified(self.find(ref), check_manifest=self.check))

    def default_bundled(self) -> Path:
        """The default fast model among the bundled versions, by the written rule of
        `app.core.engine.default_model.choose_default` (validation figures only)."""
        return default_bundle_path(self.bundled_dir)

    def _default_or_none(self) -> Path | None:
        try:
            return self.default_bundled()
        except (ModelError, OSError):  # no bundled model: nothing to mark
            return None

    def load_startup(self, settings: Any) -> tuple[Scorer, Scorer | None, list[str]]:
        """The active model and challenger the settings name, with fallbacks that never stop the
        app: a missing or refused active model falls back to the default bundled one (and the
        reason is returned for the user to see); a refused challenger is dropped."""
        problems: list[str] = []
        active = None
        if settings.active_model:
            try:
                active = self.load(settings.active_model)
            except (AbuseDeskError, OSError) as exc:
                problems.append(f"active model {settings.active_model!r} not used: {exc}")
        if active is None:
            active = self.load(self.default_bundled())
        challenger = None
        if settings.challenger_model and settings.challenger_model != active.bundle.path.name:
            try:
                challenger = self.load(settings.challenger_model)
            except (AbuseDeskError, OSError) as exc:
                problems.append(f"challenger {settings.challenger_model!r} not used: {exc}")
        return active, challenger, problems
