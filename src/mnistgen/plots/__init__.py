"""Figures (PNG, matplotlib Agg). Family-specific plots live beside the shared helpers here."""

import matplotlib

matplotlib.use("Agg")
