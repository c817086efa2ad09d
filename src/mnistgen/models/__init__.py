"""Neural network modules (nn.Module only), one file per model family."""
