"""Kernels to counts: confusion matrices, threshold sweeps, multilabel, top-k."""
