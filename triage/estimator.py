"""The linear backend under its old module name: artifacts saved before backends existed pickled its
classes as triage.estimator.TriageEstimator, CalibratedMultiLabel and CompiledHeads, and load through
these names (triage/backends/linear.py holds the code)."""

from triage.backends.linear import (CalibratedMultiLabel, CompiledHeads, LinearBackend, _softmax,  # noqa: F401
                                    topic_matrix)
from triage.backends.protocol import label_matrix  # noqa: F401

TriageEstimator = LinearBackend
