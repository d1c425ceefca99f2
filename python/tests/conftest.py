"""Small configs that keep every test to seconds on a 2-core machine."""

import pytest

SMALL = {
    "traffic": {
        "episode_intervals": 30,
        "world": {"kind": "synthetic", "synthetic": {"regions": 6, "sites": 3}},
    },
    "batch": {"window_jobs": 48, "visible_jobs": 16},
    "placement": {"nodes": "builtin:openb", "mode": "replay", "replay_pods": 60},
    "capacity": {"episode_periods": 24},
    "services": {"request_types": 20, "serving_hours": 4},
    "risk": {"hosts": 4, "episode_hours": 24, "max_mitigations_per_hour": 2},
}


@pytest.fixture(params=sorted(SMALL))
def scenario(request):
    return request.param
