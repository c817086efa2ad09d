"""The evaluator: a fixed classifier per dataset, shipped inside the package with its reference statistics.

``load_evaluator("mnist")`` reads three files from ``mnistgen/evaluators/``::

    mnist.pt               the classifier's state dict (trained once by ``mnistgen train classifier``)
    mnist.json             its identity: name, SHA-256 of both files, recipe, test accuracy, dataset checksums
    mnist-reference.npz    the test split in its feature space: features (float16), their mean and covariance

Scoring needs no dataset and never trains: every install scores with the same network against the same
reference, so scores are comparable across machines (the name and SHA-256 are printed with every score).
``load_evaluator(dataset, path)`` uses another one: an exported ``.pt`` (with its ``.json`` and
``-reference.npz`` beside it) or a classifier run directory (its reference computed from the test split).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mnistgen.checkpoint import load_module_state
from mnistgen.classifier import Classifier, ClassifierRunConfig, load_classifier, load_config
from mnistgen.config import DATASETS, from_dict, to_dict
from mnistgen.data import Dataset, load_dataset, train_val_split
from mnistgen.datasets import describe
from mnistgen.errors import MnistgenError
from mnistgen.images import to_unit
from mnistgen.rundir import atomic_write, read_json, write_json
from mnistgen.runtime import placed, resolve_device

SHIPPED = Path(__file__).resolve().parent.parent / "evaluators"
FORMAT = "mnistgen-evaluator-1"


@dataclass
class Reference:
    """The test split in the evaluator's feature space: features (N, F), their mean (F,) and covariance (F, F)."""

    features: torch.Tensor
    mu: np.ndarray
    sigma: np.ndarray
    _radii: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, features: torch.Tensor) -> Reference:
        f = features.double().numpy()
        return cls(features.float(), f.mean(0), np.cov(f, rowvar=False))

    def radii(self, k: int) -> torch.Tensor:
        """Distance of every reference point to its k-th nearest other one (cached; one pass over the distances serves
        every k up to 5, the precision/recall and the density/coverage neighbourhoods)."""
        if k not in self._radii:
            most = max(k, 5)
            f = self.features
            nearest = torch.cat(
                [
                    torch.cdist(f[i : i + 2048], f).topk(most + 1, dim=1, largest=False).values
                    for i in range(0, len(f), 2048)
                ]
            )  # (N, most + 1), itself first
            self._radii |= {j: nearest[:, j].contiguous() for j in range(1, most + 1)}
        return self._radii[k]


class Evaluator:
    """A trained classifier: ``probs``/``features`` of any image batch, its identity and its reference statistics."""

    def __init__(self, model: Classifier, info: dict[str, Any], reference: Reference, device: torch.device) -> None:
        self.model = placed(model, device, torch.channels_last).eval().requires_grad_(False)
        self.info, self.reference, self.device = info, reference, device
        self.dataset: str = info["dataset"]
        self.accuracy: float = float(info["test_accuracy"])
        self.num_features, self.num_classes = int(model.num_features), int(model.num_classes)

    def __repr__(self) -> str:
        return f"Evaluator({self.info['name']}, sha256={self.info['sha256'][:12]}, accuracy={self.accuracy:.4f})"

    def identity(self) -> dict[str, Any]:
        """What identifies the scores it gives: name, dataset, SHA-256 of the weights and the reference, accuracy."""
        keys = ("name", "dataset", "sha256", "reference_sha256", "test_accuracy", "source")
        return {k: self.info.get(k) for k in keys}

    def describe(self) -> str:
        return (
            f"evaluator {self.info['name']} (sha256 {self.info['sha256'][:16]}, test accuracy {self.accuracy:.2%}; "
            f"reference: the {self.dataset} test split, {len(self.reference.features):,} images)"
        )

    @torch.no_grad()
    def probs_and_features(self, images: Any, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax class probabilities (N, C) and penultimate-layer features (N, F), in one pass."""
        x = to_unit(images)
        if len(x) == 0:
            raise MnistgenError("no images to evaluate (empty batch)")
        probs, feats = [], []
        for i in range(0, len(x), batch):
            f = self.model.features(x[i : i + batch].to(self.device))
            probs.append(torch.softmax(self.model.head(f).float(), 1).cpu())
            feats.append(f.float().cpu())
        return torch.cat(probs), torch.cat(feats)

    def probs(self, images: Any, batch: int = 1000) -> torch.Tensor:
        return self.probs_and_features(images, batch)[0]

    def features(self, images: Any, batch: int = 1000) -> torch.Tensor:
        return self.probs_and_features(images, batch)[1]

    def held_out_images(self, ds: Dataset) -> np.ndarray:
        """The training images the classifier never saw (its validation split), uint8 (N, 28, 28). On a smaller copy of
        the dataset than it was trained on (a test fixture, the offline subset) a fifth of that copy stands in."""
        data = from_dict(ClassifierRunConfig, self.info["recipe"]).data
        images = ds.train_images[: data.limit] if data.limit else ds.train_images
        val_size = data.val_size if data.val_size < len(images) // 2 else len(images) // 5
        if val_size == 0:
            return images[:0]
        return images[train_val_split(len(images), val_size, data.split_seed)[1]]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(pt: Path) -> tuple[Path, Path]:
    return pt.with_suffix(".json"), pt.with_name(pt.stem + "-reference.npz")


def _read_exported(pt: Path, device: torch.device) -> Evaluator:
    meta, ref = _files(pt)
    for path in (pt, meta, ref):
        if not path.is_file():
            raise MnistgenError(
                f"evaluator file {path} is missing; pass --evaluator with a complete evaluator "
                "(NAME.pt, NAME.json, NAME-reference.npz) or a classifier run directory"
            )
    info = read_json(meta)
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise MnistgenError(f"{meta} is not a mnistgen evaluator description")
    for path, key in ((pt, "sha256"), (ref, "reference_sha256")):
        if sha256_of(path) != info.get(key):
            raise MnistgenError(
                f"evaluator file {path} does not match the SHA-256 in {meta.name} (corrupt or replaced); "
                "reinstall mnistgen or rebuild it with `mnistgen evaluator export`"
            )
    try:
        state = torch.load(pt, map_location="cpu", weights_only=True)
        with np.load(ref, allow_pickle=False) as arrays:
            features = torch.from_numpy(arrays["features"].astype(np.float32))
            reference = Reference(features, arrays["mu"], arrays["sigma"])
    except Exception as exc:
        raise MnistgenError(
            f"evaluator {pt} is unreadable ({str(exc).splitlines()[0][:100] or type(exc).__name__})"
        ) from None
    model = Classifier(from_dict(ClassifierRunConfig, info["recipe"]).model)
    load_module_state(model, state, "evaluator classifier")
    source = "shipped with mnistgen" if pt.resolve().parent == SHIPPED else str(pt)
    return Evaluator(model, info | {"source": source}, reference, device)


def _from_run(
    run_dir: Path, dataset: str, device: torch.device, data_dir: str | Path | None, download_missing: bool
) -> Evaluator:
    """An evaluator from a classifier run directory; its reference is computed from the dataset's test split."""
    model, payload = load_classifier(run_dir)
    cfg, _ = load_config(run_dir)
    info = {
        "format": FORMAT,
        "name": f"{run_dir.name} ({cfg.data.dataset} classifier run)",
        "dataset": cfg.data.dataset,
        "sha256": sha256_of(run_dir / "checkpoint_last.pt"),
        "reference_sha256": None,
        "recipe": to_dict(cfg),
        "test_accuracy": payload["state"]["test_accuracy"],
        "source": str(run_dir),
    }
    if cfg.data.dataset != dataset:
        raise MnistgenError(f"{run_dir} is a {cfg.data.dataset} classifier; it cannot score {dataset} images")
    ev = Evaluator(model, info, Reference(torch.zeros(1, model.num_features), np.zeros(1), np.zeros((1, 1))), device)
    ev.reference = Reference.of(ev.features(load_dataset(dataset, data_dir, download_missing).test_images))
    return ev


def load_evaluator(
    dataset: str = "mnist",
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    data_dir: str | Path | None = None,
    download_missing: bool = True,
) -> Evaluator:
    """The shipped evaluator of ``dataset`` (or the one at ``path``); never trains anything. Loading leaves the global
    RNG as it was (building the network draws initial weights that its state dict then replaces), so a run trains
    on the same noise whether its evaluator was loaded before it or, as in a resumed study, at its first probe."""
    scored_by = describe(dataset).scored_by if dataset in DATASETS else dataset  # stacked digits: each channel's
    with torch.random.fork_rng(devices=[]):
        return _load(scored_by, path, device, data_dir, download_missing)


def _load(
    dataset: str,
    path: str | Path | None,
    device: str | torch.device,
    data_dir: str | Path | None,
    download_missing: bool,
) -> Evaluator:
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    if path is None:
        pt = SHIPPED / f"{dataset}.pt"
        if not pt.is_file():
            raise MnistgenError(
                f"no evaluator ships for {dataset}; train one with `mnistgen train classifier --dataset {dataset} "
                "--out DIR` and pass --evaluator DIR"
            )
        return _read_exported(pt, dev)
    path = Path(path)
    if path.is_dir():
        return _from_run(path, dataset, dev, data_dir, download_missing)
    ev = _read_exported(path, dev)
    if ev.dataset != dataset:
        raise MnistgenError(f"{path} is a {ev.dataset} evaluator; it cannot score {dataset} images")
    return ev


def export_evaluator(
    run_dir: str | Path, out: str | Path, name: str, data_dir: str | Path | None = None, download_missing: bool = True
) -> Path:
    """Write a classifier run as a shipped evaluator: ``out/<dataset>.pt``, ``.json`` and ``-reference.npz``."""
    run_dir = Path(run_dir)
    cfg, preset = load_config(run_dir)
    ev = _from_run(run_dir, cfg.data.dataset, torch.device("cpu"), data_dir, download_missing)
    ds = load_dataset(cfg.data.dataset, data_dir, download_missing)
    pt = Path(out) / f"{cfg.data.dataset}.pt"
    meta, ref = _files(pt)
    buffer = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in ev.model.state_dict().items()}, buffer)
    atomic_write(pt, lambda fh: fh.write(buffer.getvalue()))
    r = ev.reference
    atomic_write(
        ref, lambda fh: np.savez_compressed(fh, features=r.features.numpy().astype(np.float16), mu=r.mu, sigma=r.sigma)
    )
    write_json(
        meta,
        {
            "format": FORMAT,
            "name": name,
            "dataset": cfg.data.dataset,
            "sha256": sha256_of(pt),
            "reference_sha256": sha256_of(ref),
            "test_accuracy": ev.accuracy,
            "recipe": to_dict(cfg),
            "reference": {"split": "test", "n": len(r.features), "feature_dtype": "float16"},
            "dataset_checksums": ds.checksums,
            "trained_by": f"mnistgen train classifier --preset {preset} --dataset {cfg.data.dataset} "
            f"--seed {cfg.runtime.seed}",
        },
    )
    return pt


def shipped() -> list[dict[str, Any]]:
    """Identity of every evaluator shipped with the package."""
    return [json.loads(p.read_text()) for p in sorted(SHIPPED.glob("*.json"))]
