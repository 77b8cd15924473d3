"""The ensemble's learners: one class per gradient-boosting library, registered here by name.

Conventions for every learner module:
- one `base.Learner` subclass following scikit-learn's contract: parameters in `__init__`, `fit(train, val)`
  returns self, fitted parts end in `_` (`model_`, `n_trees_`, `params_`);
- its class attributes say everything the ensemble and the search need: `name`, `trees_param`, `defaults`,
  `space` (what search.py tunes) and `weight` (its share of the ensemble before the blend is fitted);
- it reads `base.FitData` (the encoded matrix, NaN = missing) and answers in log-odds: `margin`,
  `contributions` (exact TreeSHAP from its checked table in `model/shap/` when `_build_table` gives one,
  else the library's own);
- the library is imported inside the methods: importing the package loads none of them.
Adding a learner: one module here and its class in LEARNERS.
"""

from predelinquency.model.learners.base import FitData, Learner
from predelinquency.model.learners.catboost import CatBoostLearner
from predelinquency.model.learners.lightgbm import LightGBMLearner
from predelinquency.model.learners.xgboost import XGBoostLearner

# the order is the order the ensemble fits and sums them in
LEARNERS: dict[str, type[Learner]] = {cls.name: cls for cls in (CatBoostLearner, XGBoostLearner, LightGBMLearner)}

__all__ = ["LEARNERS", "CatBoostLearner", "FitData", "Learner", "LightGBMLearner", "XGBoostLearner"]
