"""Report text and plots; they read counts and curves, never an accumulator's internals."""
