import numpy as np
import pytest

from predelinquency.model.calibration import PD_FLOOR, Calibrator
from predelinquency.model.evaluate import expected_calibration_error


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model log-odds, outcomes, the true PD): the model is overconfident and biased upwards."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-2.5, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    return 2.5 * true_logit + 3.0, y, 1 / (1 + np.exp(-true_logit))


@pytest.mark.parametrize("method", ["auto", "platt", "isotonic"])
def test_calibration_reduces_ece_on_held_out_data(method):
    z_fit, y_fit, _ = _miscalibrated(6000, seed=1)
    z_new, y_new, _ = _miscalibrated(6000, seed=2)
    raw = expected_calibration_error(y_new, 1 / (1 + np.exp(-z_new)))
    cal = Calibrator(method=method).fit(z_fit, y_fit)
    calibrated = expected_calibration_error(y_new, cal.predict(z_new))
    assert raw > 0.05 and calibrated < raw / 3 and calibrated < 0.02
    if method == "auto":
        assert cal.method_ in ("platt", "isotonic") and set(cal.cv_brier_) == {"platt", "isotonic"}


def test_small_windows_use_platt_and_pds_stay_inside_zero_one():
    z, y, _ = _miscalibrated(400, seed=3)
    cal = Calibrator().fit(z, y)
    assert cal.method_ == "platt"  # isotonic overfits a few hundred rows
    p = Calibrator(method="isotonic").fit(z, y).predict(np.array([-100.0, 100.0]))
    assert p[0] >= PD_FLOOR and p[1] <= 1 - PD_FLOOR
    # calibration is monotone: it never reorders customers
    grid = np.linspace(-10, 10, 50)
    assert np.all(np.diff(cal.predict(grid)) >= 0)


def test_the_isotonic_map_is_applied_exactly_as_scikit_learn_applies_it():
    z, y, _ = _miscalibrated(6000, seed=4)
    cal = Calibrator(method="isotonic").fit(z, y)
    grid = np.concatenate([np.linspace(-30, 30, 2001), z[:500]])  # beyond the fitted range and at its points
    expected = np.clip(cal.model_.predict(grid), PD_FLOOR, 1 - PD_FLOOR)
    np.testing.assert_array_equal(cal.predict(grid), expected)
