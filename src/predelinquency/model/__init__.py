"""Model machinery: split, learners (learners/), ensemble, calibration, threshold, evaluation, explanations
(shap/), registry, training."""
