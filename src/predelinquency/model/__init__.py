"""Model machinery: split, ensemble, calibration, threshold, evaluation, explanations, registry, training."""
