"""One training loop per model family: vae, gan, classifier."""
