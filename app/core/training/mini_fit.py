"""Fine-tuning abuse-mini on CPU: tokenising, length-bucketed batches, the training loop, and
selection of the best checkpoint by validation alone (`train-mini` extra: PyTorch).

Batches hold texts of similar length (shuffled pools sorted by length), each padded only to its
own longest text: tweets are short, so this is several times cheaper than padding every text to
the maximum. Everything is seeded; the same data and seed give the same model on the same
PyTorch build.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.core.analysis.thresholds import ThresholdAnalysis
from app.core.engine.encoder_text import MAX_TOKENS, encoder_text
from app.core.training.mini_model import MiniClassifier

Progress = Callable[[str], None]


def load_tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def token_ids(tokenizer: Any, texts: Sequence[str]) -> list[np.ndarray]:
    """Token ids of each text as the encoder reads it ([CLS] … [SEP], at most MAX_TOKENS)."""
    encoded = tokenizer.encode_batch([encoder_text(t) for t in texts])
    return [np.asarray(e.ids, dtype=np.int64) for e in encoded]


def padded(batch: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), width), np.int64)
    mask = np.zeros((len(batch), width), np.int64)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def length_batches(lengths: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Indices in batches of similar length: shuffled, cut into pools of 50 batches, each pool
    sorted by length and cut into batches, and the batches shuffled."""
    order = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    pool = size * 50
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    return [batches[i] for i in rng.permutation(len(batches))]


@torch.no_grad()
def predict_logits(
    model: MiniClassifier, ids: Sequence[np.ndarray], batch: int = 128
) -> np.ndarray:
    model.eval()
    lengths = np.fromiter((len(s) for s in ids), np.int64, len(ids))
    order = np.argsort(lengths, kind="stable")
    out = np.zeros(len(ids), np.float64)
    for start in range(0, len(order), batch):
        chosen = order[start : start + batch]
        x, mask = padded([ids[i] for i in chosen])
        out[chosen] = model(x, mask).double().numpy()
    return out


@dataclass
class FitSettings:
    epochs: float = 2.0
    learning_rate: float = 6e-5
    batch_size: int = 32
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    checkpoints_per_epoch: int = 2
    seed: int = 20261130

    def describe(self) -> str:
        return (
            f"AdamW lr {self.learning_rate:g} (linear warm-up {self.warmup_share:.0%}, linear "
            f"decay), weight decay {self.weight_decay:g}, batch {self.batch_size}, "
            f"{self.epochs:g} epochs, max {MAX_TOKENS} tokens, checkpoint every "
            f"1/{self.checkpoints_per_epoch} epoch"
        )


@dataclass
class FitResult:
    model: MiniClassifier
    best_step: int
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


Score = Callable[[MiniClassifier], dict[str, Any]]


def _optimizer(model: MiniClassifier, settings: FitSettings, steps: int) -> tuple[Any, Any]:
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "positions" not in n]
    plain = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "positions" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings.weight_decay},
            {"params": plain, "weight_decay": 0.0},
        ],
        lr=settings.learning_rate,
    )
    warmup = max(1, int(steps * settings.warmup_share))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def fine_tune(
    model: MiniClassifier,
    ids: Sequence[np.ndarray],
    labels: np.ndarray,
    score: Score,
    settings: FitSettings,
    say: Progress,
) -> FitResult:
    """Train on (ids, labels); at each checkpoint ``score(model)`` returns a dict whose
    ``selection`` (higher is better, validation only) picks the model returned."""
    rng = np.random.default_rng(settings.seed)
    torch.manual_seed(settings.seed)
    lengths = np.fromiter((len(s) for s in ids), np.int64, len(ids))
    per_epoch = -(-len(ids) // settings.batch_size)
    total = int(per_epoch * settings.epochs)
    every = max(1, per_epoch // settings.checkpoints_per_epoch)
    optimizer, schedule = _optimizer(model, settings, total)
    target = torch.from_numpy(labels.astype(np.float32))
    best, best_state, checkpoints = -np.inf, None, []
    started, step = time.perf_counter(), 0
    loss_sum = 0.0
    while step < total:
        for batch in length_batches(lengths, settings.batch_size, rng):
            if step >= total:
                break
            model.train()
            x, mask = padded([ids[i] for i in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(x, mask), target[batch]
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            loss_sum += float(loss.detach())
            if step % every == 0 or step == total:
                row = {
                    "step": step,
                    "epoch": round(step / per_epoch, 2),
                    "train_loss": loss_sum / every,
                }
                row.update(score(model))
                row["seconds"] = round(time.perf_counter() - started, 1)
                checkpoints.append(row)
                say(f"  checkpoint {row}")
                loss_sum = 0.0
                if row["selection"] > best:
                    best, best_state = row["selection"], copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    best_step = int(max(checkpoints, key=lambda r: r["selection"])["step"])
    return FitResult(model, best_step, checkpoints, time.perf_counter() - started)


def per_origin_auc(logits: np.ndarray, labels: np.ndarray, origins: np.ndarray) -> dict[str, float]:
    return {
        str(origin): ThresholdAnalysis(
            logits[origins == origin], labels[origins == origin]
        ).roc_auc()
        for origin in sorted(set(origins.tolist()))
    }
