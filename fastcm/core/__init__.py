"""Inputs to a plan: argument and array checks, the scores rule, overflow guards, exceptions."""
