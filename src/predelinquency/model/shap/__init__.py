"""Exact TreeSHAP of our own: per-leaf tables built once per fitted model, read per row with numpy.

Conventions for every module of this package:
- a table module turns one library's fitted model into a table (`oblivious.from_catboost`,
  `paths.from_xgboost`), or None when the model is outside what the table covers (categorical splits,
  trees too deep): the library's own TreeSHAP then explains that model;
- every table is checked against its library when built (`check.checked`: the library's exact SHAP
  values and raw prediction on probe rows either side of the model's thresholds) and a disagreement
  raises ShapMismatch: a table is never used unchecked;
- a table's `contributions(X)` takes the encoded float matrix and returns (n, features + 1) SHAP values
  in log-odds, the last column the expected value, so each row sums to the model's margin;
- large batches are explained block by block in threads (`blocks.by_blocks`).
Which learner uses which table is decided by its class in `model/learners/`.
"""
