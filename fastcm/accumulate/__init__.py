"""Streaming accumulators beside the pipeline, and their files."""
