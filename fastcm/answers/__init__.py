"""Numbers to decisions: intervals, gates, comparisons, operating points, calibration, diagnosis."""
