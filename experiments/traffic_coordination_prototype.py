"""Traffic, issue 20 (stop 44): a PyTorch prototype of coordination for the LP's clone, run
before building column pooling into the Rust networks, to see which structure lets a per-pair
scorer compute the LP's split. Every variant sees the pairs observation without the observed
share (observe_share = false) and is trained on the same states.

- data: the states the per-interval LP drives on training episodes 100-115 (23,040 states),
  labelled with the LP's split;
- plain: the entity scorer as planetgym builds it (context, two pair layers, a score per pair,
  softmax over each region's sites);
- site: plain with column pooling (each pair's second layer also reads the mean first-layer row
  of the pairs sharing its site), what `column_pooling = true` builds;
- refine K: plain, then K rounds that each see the site utilisation the current split implies
  (sum over regions of demand x share over the site's available capacity) and add a correction
  to the scores: an unrolled dual ascent with the sites' shared load as the message;
- prices (stop 48): the LP's structure instead of a score per pair. The LP's optimum sends each
  region to the sites with the least latency_weight x RTT + price, where a site's price (its
  money cost plus the dual of its capacity) is shared by every region. The network outputs one
  price per site (pairs pooled over regions, then a site layer), and the split is each region's
  softmax over healthy sites of -(RTT / 100 + price) / temperature (RTT / 100 is latency_weight x
  RTT in the reward's units; the temperature is learned). With --refine K, K rounds each see
  the site utilisation the current split implies and correct the prices (dual ascent).
- --dagger N: N rounds of DAgger (4 episodes of the clone's own states each, LP-labelled).

Cross-entropy to the LP's split per region, Adam 1e-3, batches of 64, one torch thread. Each
variant is evaluated greedily (the softmax of its scores) on episodes of tuning seed 77, paired
with the LP and greedy spill-over on the same episodes.

    .venv/bin/python experiments/traffic_coordination_prototype.py [--site | --prices] [--refine K] [--dagger N]
"""

import argparse
import time

import numpy as np
import torch
import torch.nn as nn

import planetgym

ENV = dict(observation="pairs", observe_share=False)


def lp_states(seeds, intervals=1440):
    env = planetgym.PlanetgymEnv("traffic", **ENV)
    lp = planetgym.baseline("lp", env)
    xs, ys = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        for _ in range(intervals):
            split = np.asarray(lp.act(), np.float32)
            xs.append(obs.copy())
            ys.append(split)
            obs, _, term, trunc, _ = env.step(split)
            if term or trunc:
                break
    return torch.tensor(np.array(xs)), torch.tensor(np.array(ys))


def site_load(x, p):
    """Utilisation each site would have under split `p` [b, r, s]: demand (relative to the mean
    region) sent there over its available capacity (relative to the mean site), capped at 10."""
    r, s = x.shape[1], x.shape[2]
    demand, available = x[..., 0], (x[:, 0, :, 2] * x[:, 0, :, 3]).clamp_min(1e-3)
    return ((demand * p).sum(1) * s / r / available).clamp(max=10.0)


class Scorer(nn.Module):
    def __init__(self, g, f, grid, hidden=32, site=False, refine=0):
        super().__init__()
        self.g, self.f, (self.r, self.s) = g, f, grid
        self.context = nn.Linear(g, hidden)
        self.entity1 = nn.Linear(f, hidden)
        self.entity2 = nn.Linear(hidden, hidden)
        self.column = nn.Linear(hidden, hidden, bias=False) if site else None
        self.score = nn.Linear(hidden, 1)
        self.refine = refine
        if refine:
            self.r_context = nn.Linear(g, hidden)
            self.r1 = nn.Linear(f + 3, hidden)
            self.r2 = nn.Linear(hidden, hidden)
            self.delta = nn.Linear(hidden, 1)

    def forward(self, obs):
        b = obs.shape[0]
        g = obs[:, : self.g]
        x = obs[:, self.g : self.g + self.r * self.s * self.f].reshape(b, self.r, self.s, self.f)
        c = torch.relu(self.context(g))[:, None, None, :]
        h1 = torch.relu(self.entity1(x) + c)
        z = self.entity2(h1)
        if self.column is not None:
            z = z + self.column(h1.mean(1, keepdim=True))
        logits = self.score(torch.relu(z)).squeeze(-1)
        if self.refine:
            # Demand relative to the mean region, available capacity relative to the mean site.
            rc = torch.relu(self.r_context(g))[:, None, None, :]
            for _ in range(self.refine):
                p = torch.softmax(logits, -1)
                load = site_load(x, p)
                extra = torch.stack([load[:, None, :].expand(b, self.r, self.s), p, torch.log(p + 1e-6)], -1)
                h = torch.relu(self.r2(torch.relu(self.r1(torch.cat([x, extra], -1)) + rc)))
                logits = logits + self.delta(h).squeeze(-1)
        return logits


class PriceScorer(nn.Module):
    """Logits -(RTT / 100 + price of the site) / temperature, unhealthy sites masked."""

    def __init__(self, g, f, grid, hidden=32, refine=0):
        super().__init__()
        self.g, self.f, (self.r, self.s) = g, f, grid
        self.context = nn.Linear(g, hidden)
        self.entity1 = nn.Linear(f, hidden)
        self.site = nn.Linear(hidden, hidden)
        self.price = nn.Linear(hidden, 1)
        self.log_temperature = nn.Parameter(torch.tensor(np.log(0.05), dtype=torch.float32))
        self.refine = refine
        if refine:
            self.r1 = nn.Linear(hidden + 2, hidden)
            self.delta = nn.Linear(hidden, 1)

    def forward(self, obs):
        b = obs.shape[0]
        g = obs[:, : self.g]
        x = obs[:, self.g : self.g + self.r * self.s * self.f].reshape(b, self.r, self.s, self.f)
        rtt, healthy = x[..., 1], x[:, 0, :, 3] > 0
        h1 = torch.relu(self.entity1(x) + self.context(g)[:, None, None, :])
        z = torch.relu(self.site(h1.mean(1)))
        price = self.price(z).squeeze(-1)
        temperature = self.log_temperature.exp()

        def logits_of(price):
            logits = -(rtt + price[:, None, :]) / temperature
            return logits.masked_fill(~healthy[:, None, :], -1e9)

        logits = logits_of(price)
        if self.refine:
            for _ in range(self.refine):
                p = torch.softmax(logits, -1)
                load = site_load(x, p)
                extra = torch.stack([load, price], -1)
                price = price + self.delta(torch.relu(self.r1(torch.cat([z, extra], -1)))).squeeze(-1)
                logits = logits_of(price)
        return logits


def fit(net, opt, xs, ys, epochs):
    for epoch in range(epochs):
        order, total = torch.randperm(len(xs)), 0.0
        for i in range(0, len(xs), 64):
            idx = order[i : i + 64]
            loss = -(ys[idx] * torch.log_softmax(net(xs[idx]), -1)).sum(-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch}: cross-entropy {total / len(xs):.4f}", flush=True)


def episode(env, act, seed, lp=None):
    """The return of `act` on episode `seed`, and with `lp` the LP's labels of its states."""
    obs, _ = env.reset(seed=seed)
    total, labelled = 0.0, []
    while True:
        split = act(obs)
        if lp is not None:
            labelled.append((obs.copy(), np.asarray(lp.act(), np.float32)))
        obs, reward, term, trunc, _ = env.step(np.asarray(split, np.float32))
        total += reward
        if term or trunc:
            return total, labelled


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--site", action="store_true")
    p.add_argument("--prices", action="store_true")
    p.add_argument("--refine", type=int, default=0)
    p.add_argument("--dagger", type=int, default=0)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--episodes", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    env = planetgym.PlanetgymEnv("traffic", **ENV)
    grid = env.action_space.shape
    started = time.time()
    xs, ys = lp_states(range(100, 116))
    f = (xs.shape[1] - 3 - grid[0] * grid[1]) // (grid[0] * grid[1])
    if a.prices:
        net = PriceScorer(3, f, grid, refine=a.refine)
    else:
        net = Scorer(3, f, grid, site=a.site, refine=a.refine)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    fit(net, opt, xs, ys, a.epochs)

    def act(obs):
        with torch.no_grad():
            return torch.softmax(net(torch.tensor(obs)[None]), -1)[0].numpy()

    lp = planetgym.baseline("lp", env)
    for k in range(a.dagger):
        new = [s for seed in range(200 + 4 * k, 204 + 4 * k) for s in episode(env, act, seed, lp)[1][::2]]
        xs = torch.cat([xs, torch.tensor(np.array([o for o, _ in new]))])
        ys = torch.cat([ys, torch.tensor(np.array([y for _, y in new]))])
        print(f"DAgger round {k}: {len(xs)} states", flush=True)
        fit(net, opt, xs, ys, max(2, a.epochs // 3))
    print(f"trained in {time.time() - started:.0f} s")
    greedy = planetgym.baseline("greedy-spillover@0.8", env)
    rows = []
    for seed in np.random.default_rng(77).integers(0, 2**31, a.episodes):
        rows.append([episode(env, fn, int(seed))[0] for fn in (act, lambda o: lp.act(), lambda o: greedy.act())])
        print(f"episode {seed}: clone {rows[-1][0]:.0f}, lp {rows[-1][1]:.0f}, greedy {rows[-1][2]:.0f}", flush=True)
    r = np.array(rows)
    print(f"site={a.site} prices={a.prices} refine={a.refine} dagger={a.dagger}: clone {r[:, 0].mean():.0f}, "
          f"lp {r[:, 1].mean():.0f}, greedy {r[:, 2].mean():.0f}")


if __name__ == "__main__":
    main()
