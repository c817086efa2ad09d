"""Training losses on model outputs, one module per family: vae.py, gan.py."""
