"""The Dask preload that makes a plain ``dask worker`` compute as a mnistgen study does:

    dask worker tcp://HOST:8786 --nthreads 1 --preload mnistgen.workerpreload

Dask imports a ``--preload`` module in the worker process before the worker connects (and so before any unit imports
torch); importing this one holds PyTorch to the kernels of ``$MNISTGEN_KERNELS`` (default: AVX2 on an x86-64 CPU
that has it, as the ``mnistgen`` command does), so the worker passes the study's check. ``mnistgen worker`` starts a
worker this way.
"""

from __future__ import annotations

from mnistgen import kernels

IN_FORCE = kernels.hold(kernels.requested([], kernels.default()))


def dask_setup(worker: object) -> None:
    """Dask calls this once the worker exists; the kernels were held when the module was imported."""
