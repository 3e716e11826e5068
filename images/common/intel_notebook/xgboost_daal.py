"""Fast XGBoost inference: convert a trained model to oneDAL with daal4py.

Training stays in XGBoost; the converted model predicts the same values (XGBoost itself works
in float32) 2-3x faster on Xeon. Inputs are handed over as C-contiguous float32, the layout
oneDAL reads without a copy and the precision the trees were built in.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _booster(model: Any) -> Any:
    """The xgboost.Booster behind a scikit-learn style XGBoost model or a Booster itself."""
    get_booster = getattr(model, "get_booster", None)
    return get_booster() if callable(get_booster) else model


def as_float32(features: Any) -> np.ndarray:
    """Features (array or DataFrame) as the C-contiguous float32 array oneDAL wants."""
    to_numpy = getattr(features, "to_numpy", None)
    array = to_numpy() if callable(to_numpy) else features
    return np.ascontiguousarray(array, dtype=np.float32)


class DaalPredictor:
    """A converted XGBoost model with XGBoost's predict interface."""

    def __init__(self, model: Any):
        import daal4py  # part of scikit-learn-intelex

        self.daal_model = daal4py.mb.convert_model(_booster(model))
        self.classes_ = getattr(model, "classes_", None)

    def predict(self, features: Any) -> np.ndarray:
        """Predicted values (regression) or class labels (classification)."""
        predictions = self.daal_model.predict(as_float32(features))
        if self.classes_ is not None and self.daal_model.is_classifier_:
            return np.asarray(self.classes_)[np.asarray(predictions, dtype=int)]
        return predictions

    def predict_proba(self, features: Any) -> np.ndarray:
        """Class probabilities, like XGBClassifier.predict_proba."""
        return self.daal_model.predict_proba(as_float32(features))


def convert(model: Any) -> DaalPredictor:
    """Convert an XGBRegressor, XGBClassifier or Booster for fast CPU inference."""
    return DaalPredictor(model)
