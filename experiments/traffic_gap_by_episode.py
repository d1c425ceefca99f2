"""Where a learned traffic policy loses to the per-interval LP, episode by episode: the gap
(LP minus policy, in % of the LP's return; the policy's return is its mean over training runs)
by quantile, the episodes it beats greedy spill-over on, and the worst and best episodes'
latency, drops and busiest site, from an ``episodes.csv`` written by ``planetgym eval
--policies lp,...``. Writes markdown (stdout).

    .venv/bin/python experiments/traffic_gap_by_episode.py EPISODES.csv [EPISODES.csv ...]
"""

import sys

import pandas as pd

COLUMNS = ["reward", "mean_latency_ms", "dropped_fraction", "max_site_utilisation"]


def greedy_wins(rows: pd.DataFrame, policy: pd.Series) -> str:
    """How many episodes the policy beats greedy spill-over on, where the file has it."""
    greedy = rows[rows.policy.str.startswith("greedy-spillover")]
    if greedy.empty:
        return ""
    name = greedy.policy.iloc[0]
    wins = (policy > greedy.set_index("episode").reward).sum()
    return f"; better than {name} on {wins} of {len(policy)} episodes"


def gap_table(path: str) -> str:
    rows = pd.read_csv(path)
    lp = rows[rows.policy == "lp"].set_index("episode")[COLUMNS]
    policy = rows[rows.policy == "ppo"].groupby("episode")[COLUMNS].mean()
    gap = (lp.reward - policy.reward) / lp.reward.abs() * 100
    q10, q50, q90 = gap.quantile([0.1, 0.5, 0.9])
    out = [
        f"### {path}",
        "",
        f"{len(gap)} episodes; LP {lp.reward.mean():.0f}, policy {policy.reward.mean():.0f}, "
        f"gap of the means {(lp.reward.mean() - policy.reward.mean()) / abs(lp.reward.mean()) * 100:.1f} %; "
        f"per-episode gap: 10th percentile {q10:.1f} %, median {q50:.1f} %, 90th {q90:.1f} %, "
        f"max {gap.max():.1f} %{greedy_wins(rows, policy.reward)}",
        "",
        "| episode | gap | latency LP / policy (ms) | dropped LP / policy | busiest site LP / policy |",
        "|---|---|---|---|---|",
    ]
    order = gap.sort_values()
    for episode in list(order.index[-5:][::-1]) + list(order.index[:3]):
        a, b = lp.loc[episode], policy.loc[episode]
        out.append(
            f"| {episode} | {gap[episode]:.1f} % | {a.mean_latency_ms:.1f} / {b.mean_latency_ms:.1f} "
            f"| {a.dropped_fraction:.5f} / {b.dropped_fraction:.5f} "
            f"| {a.max_site_utilisation:.3f} / {b.max_site_utilisation:.3f} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("\n".join(gap_table(path) for path in sys.argv[1:]))
