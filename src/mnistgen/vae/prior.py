"""A full-covariance Gaussian mixture over latent codes, fitted by EM: the VAE's ex-post prior.

The aggregate posterior of a trained VAE does not fill N(0, I): decoded prior samples that land in
its holes are blends of two digits. Fitting a density to the codes the encoder actually produces,
after training, and sampling from it instead ("ex-post density estimation", Ghosh et al. 2020, *From
variational to deterministic autoencoders*; the same idea as the two-stage VAE of Dai & Wipf 2019)
keeps sampling "random N(0, I) vectors through a decoder": pick a component k with probability
w_k, draw eps ~ N(0, I), and decode z = mu_k + L_k eps.

An unfitted mixture has every mean 0 and every covariance I, i.e. it *is* the standard prior. The fit is
scikit-learn's EM; the fitted parameters are kept as torch buffers, so sampling stays seeded and on-device.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from torch import nn

from mnistgen.errors import MnistgenError


class GaussianMixture(nn.Module):
    """p(z) = sum_k w_k N(z; mu_k, L_k L_k^T) over ``dim``-dimensional codes; parameters are buffers."""

    def __init__(self, dim: int, components: int) -> None:
        super().__init__()
        if dim < 1 or components < 1:
            raise MnistgenError(f"a Gaussian mixture needs dim >= 1 and >= 1 component, got dim {dim}, {components} components")
        self.dim, self.components = dim, components
        self.register_buffer("log_weights", torch.full((components,), -math.log(components)))  # (K,)
        self.register_buffer("means", torch.zeros(components, dim))  # (K, d)
        self.register_buffer("scale_tril", torch.eye(dim).repeat(components, 1, 1))  # (K, d, d) Cholesky factors

    def _log_joint(self, x: torch.Tensor, log_w: torch.Tensor, means: torch.Tensor, tril: torch.Tensor) -> torch.Tensor:
        """log w_k + log N(x_n; mu_k, Sigma_k), (N, K), via the expanded quadratic form (no (N, K, d) tensor)."""
        prec = torch.cholesky_inverse(tril)  # (K, d, d) Sigma_k^-1
        outer = (x[:, :, None] * x[:, None, :]).flatten(1)  # (N, d*d)
        pm = (prec @ means[:, :, None]).squeeze(2)  # (K, d) Sigma^-1 mu
        maha = outer @ prec.flatten(1).T - 2.0 * x @ pm.T + (means * pm).sum(1)  # (N, K)
        logdet = 2.0 * torch.log(torch.diagonal(tril, dim1=1, dim2=2)).sum(1)  # (K,)
        return log_w - 0.5 * (maha.clamp_min(0.0) + logdet + self.dim * math.log(2 * math.pi))

    @torch.no_grad()
    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) per row of ``z`` (N, d), (N,)."""
        x = z.double()
        return torch.logsumexp(self._log_joint(x, self.log_weights.double(), self.means.double(), self.scale_tril.double()), 1).to(z.dtype)

    @torch.no_grad()
    def fit(self, codes: torch.Tensor, *, iterations: int = 100, tol: float = 1e-3, seed: int = 0,
            reg: float = 1e-4, restarts: int = 1) -> dict[str, float | int | bool]:
        """EM on ``codes`` (N, d) with scikit-learn's ``GaussianMixture`` (full covariances, k-means++ initialisation,
        seeded); the fitted weights, means and Cholesky factors become this module's buffers.

        ``reg`` x (mean variance of the codes) is added to every covariance's diagonal so none collapses onto a
        point; EM stops after ``iterations`` or when the mean log-likelihood improves by less than ``tol`` nats.
        ``restarts`` > 1 keeps the best of that many initialisations. Returns the final mean log-likelihood per code, the
        iterations run and whether EM converged.
        """
        x = codes.detach().double().cpu().numpy()
        n, d = x.shape
        k = self.components
        if d != self.dim:
            raise MnistgenError(f"codes have {d} dimensions, the mixture {self.dim}")
        if n < k:
            raise MnistgenError(f"fitting a {k}-component mixture needs at least {k} codes, got {n}")
        if not np.isfinite(x).all():
            raise MnistgenError("cannot fit the latent mixture: the encoder produced non-finite codes")
        em = SkGaussianMixture(k, covariance_type="full", reg_covar=reg * float(x.var(0).mean()), max_iter=iterations, tol=tol,
                               n_init=restarts, init_params="k-means++", random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the result instead
            em.fit(x)
        self.log_weights.copy_(torch.from_numpy(np.log(em.weights_)).to(self.log_weights))
        self.means.copy_(torch.from_numpy(em.means_).to(self.means))
        self.scale_tril.copy_(torch.linalg.cholesky(torch.from_numpy(em.covariances_)).to(self.scale_tril))
        return {"log_likelihood": float(em.score(x)), "iterations": int(em.n_iter_), "converged": bool(em.converged_)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codes (n, d) on the buffers' device; all randomness drawn on the CPU from ``generator``."""
        comp = torch.multinomial(self.log_weights.detach().double().exp().cpu(), n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.dim, generator=generator).to(self.means)  # (n, d)
        comp = comp.to(self.means.device)
        return self.means[comp] + (self.scale_tril[comp] @ eps[:, :, None]).squeeze(2)  # (n, d)
