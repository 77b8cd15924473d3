"""Learned treatment effects: which contact lowers which customer's chance of missing, and by how much.

Conventions: `model.py` is the one object everything else reads (`UpliftModel.p_after` / `uplift`, per action, on
the PD champion's features in `feature_names` order); `prior_model` is the configured success rates, used exactly
when nothing was learned. `dataset.py` reads settled plan outcomes and computes their features with the product's
own feature code; `learner.py` fits and shrinks (pure arrays in, model out); `evaluate.py` measures on plan dates
the fit never saw; `train.py` runs the job (`pde train --effects`, the nightly's challenger); `registry.py` stores
versions beside the PD model's, with the same artifact helpers (model/registry.py). The generator's true uplift
(`simulated_outcomes`) is read only to evaluate, never to fit.
"""
