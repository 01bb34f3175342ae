"""churn_features: one column per FEATURE_NAMES entry, hand-worked values."""

from __future__ import annotations

import numpy as np

from recsys.profiles.churn import FEATURE_NAMES, churn_features


def test_columns_and_values() -> None:
    one = np.ones(2)
    features = churn_features(
        repeat_purchases=np.array([0.0, 3.0]),
        recency_days=np.array([40.0, 20.0]),
        tenure_days=np.array([40.0, 200.0]),
        model_no_purchase=np.array([0.5, 0.5]),
        expected_purchases=np.array([0.0, 1.0]),
        decayed_60=one,
        decayed_180=one,
        orders_last_90=np.array([1.0, 3.0]),
        orders_last_30=np.array([0.0, 1.0]),
        orders_last_180=np.array([1.0, 4.0]),
        orders_90_to_180=np.array([0.0, 1.0]),
        active_months=np.array([1.0, 3.0]),
        median_gap=np.array([0.0, 40.0]),
        monetary=np.array([10.0, 100.0]),
    )
    assert features.shape == (2, len(FEATURE_NAMES))
    col = {name: features[:, i] for i, name in enumerate(FEATURE_NAMES)}
    np.testing.assert_allclose(col["log_trend_last_90d_over_previous_90d"], np.log([2.0, 2.0]))
    np.testing.assert_allclose(col["log1p_recency_over_median_gap"], [0.0, np.log1p(0.5)])
    np.testing.assert_allclose(col["log1p_active_months"], np.log1p([1.0, 3.0]))
    np.testing.assert_allclose(col["log1p_orders_last_30d"], np.log1p([0.0, 1.0]))
    np.testing.assert_allclose(col["log1p_orders_last_180d"], np.log1p([1.0, 4.0]))
    np.testing.assert_allclose(col["one_time_buyer"], [1.0, 0.0])
