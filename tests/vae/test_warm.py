"""Warm starts: a 2-D VAE from a 10-D run copies what fits and, on request, starts on the 10-D model's principal
plane."""

import pytest
import torch

from mnistgen import rundir, vae
from mnistgen.checkpoint import save_checkpoint
from mnistgen.config import apply_overrides
from mnistgen.errors import MnistgenError
from mnistgen.vae.model import VAE
from mnistgen.vae.warm import warm_start


def _source_run(tmp_path, arch="seed"):
    torch.manual_seed(0)
    src = VAE(arch, latent_dim=10, channels=4, hidden=32).eval()
    run = tmp_path / "src"
    run.mkdir()
    save_checkpoint(run / rundir.BEST, kind="vae", models={"vae": src})
    return src, run


def _images(n=64):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(1))


def test_warm_start_copies_the_weights_that_fit_and_leaves_the_heads(tmp_path):
    src, run = _source_run(tmp_path)
    torch.manual_seed(5)
    dst = VAE("seed", latent_dim=2, hidden=32)
    fresh_mu = dst.encoder.mu.weight.clone()
    done = warm_start(dst, str(run))
    assert "encoder.lstm.weight_hh_l0" in done["tensors"] and "encoder.mu.weight" not in done["tensors"]
    assert "decoder.dense.0.weight" not in done["tensors"] and "plane" not in done
    assert torch.equal(dst.encoder.lstm.weight_hh_l0, src.encoder.lstm.weight_hh_l0)
    assert torch.equal(dst.encoder.mu.weight, fresh_mu)


@pytest.mark.parametrize("arch", ["seed", "conv"])
def test_the_principal_plane_start_is_the_source_model_restricted_to_its_top_two_directions(tmp_path, arch):
    src, run = _source_run(tmp_path, arch)
    dst = VAE(arch, latent_dim=2, channels=4, hidden=32)
    x = _images()
    done = warm_start(dst, str(run), x)
    dst.eval()
    mu10 = src.posterior_means(x)  # (N, 10)
    centred = mu10 - mu10.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    mu2 = dst.posterior_means(x)  # (N, 2)
    # the new means are the source's means projected on its principal plane (up to each axis's sign)
    assert torch.allclose(mu2.abs(), (centred @ vh[:2].T).abs(), atol=1e-4)
    assert done["plane"]["explained_variance"] == pytest.approx(float((s[:2] ** 2).sum() / (s**2).sum()), rel=1e-5)
    # and its decoder reads a 2-D code z as the source decoder reads m + P^T z
    p = torch.linalg.lstsq(centred, mu2).solution.T  # (2, 10): recovers P from the projection
    z = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(dst.decode(z), src.decode(mu10.mean(0) + z @ p), atol=1e-4)


def test_warm_start_from_a_folder_without_a_finished_run_is_a_one_line_error(tmp_path):
    with pytest.raises(MnistgenError, match="holds no finished VAE run"):
        warm_start(VAE("seed", latent_dim=2, hidden=32), str(tmp_path))


def test_a_negative_plane_size_is_a_one_line_error():
    assert vae.configure("seed-2d").train.warm_plane == 5000
    with pytest.raises(MnistgenError, match="train.warm_plane >= 0"):
        apply_overrides(vae.configure("seed-2d"), ["train.warm_plane=-1"])
