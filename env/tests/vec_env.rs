//! Vector env: determinism across thread counts, equality with single envs, auto-reset.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::ScenarioConfig;
use planetgym_env::{
    Action, AutoresetMode, EnvError, Scenario, TrafficConfig, TrafficScenario, VecEnv, episode_seed,
};

const EPISODE: usize = 12;

fn short_config() -> TrafficConfig {
    // Short episodes so that several auto-resets happen; frequent failures so they matter.
    TrafficConfig::from_toml(
        "episode_intervals = 12\n[failures]\nsite_failures_per_day = 40.0\nlink_degradations_per_day = 5.0\n[demand]\nflash_crowds_per_region_day = 20.0\n",
        "test",
    )
    .unwrap()
}

/// A deterministic, state-dependent split: each region favours sites with spare capacity.
fn policy(obs: &planetgym_env::TrafficObs) -> Action {
    let s = obs.sites();
    let mut split = Vec::with_capacity(obs.regions() * s);
    for r in 0..obs.regions() {
        let w: Vec<f64> = (0..s)
            .map(|j| obs.health[j] / (1.0 + obs.rtt(r, j) / 50.0 + obs.utilisation[j].min(5.0)))
            .collect();
        let total: f64 = w.iter().sum::<f64>().max(1e-12);
        split.extend(w.iter().map(|x| (x / total) as f32));
    }
    Action::Continuous(split)
}

fn vec_env(n: usize, threads: usize, mode: AutoresetMode) -> VecEnv<TrafficScenario> {
    let scenario = TrafficScenario::new(short_config()).unwrap();
    VecEnv::new(scenario, n, 99, threads, mode).unwrap()
}

/// Everything the vector env exposes after each step, as bits.
fn run(env: &mut VecEnv<TrafficScenario>, steps: usize) -> Vec<u64> {
    let mut trace = Vec::new();
    for _ in 0..steps {
        let actions: Vec<Action> = (0..env.num_envs())
            .map(|i| policy(env.typed_observation(i).unwrap()))
            .collect();
        env.step(&actions).unwrap();
        trace.extend(env.observations().iter().map(|v| u64::from(v.to_bits())));
        trace.extend(env.rewards().iter().map(|v| v.to_bits()));
        trace.extend(
            env.terminated()
                .iter()
                .chain(env.truncated())
                .map(|&b| u64::from(b)),
        );
        for i in 0..env.num_envs() {
            trace.extend(env.info(i).unwrap().values.iter().map(|v| v.to_bits()));
            if let Some(f) = env.final_observation(i) {
                trace.extend(f.iter().map(|v| u64::from(v.to_bits())));
            }
        }
    }
    trace
}

#[test]
fn bit_identical_with_one_and_two_threads() {
    for mode in [AutoresetMode::SameStep, AutoresetMode::NextStep] {
        let one = run(&mut vec_env(6, 1, mode), 40);
        let two = run(&mut vec_env(6, 2, mode), 40);
        assert_eq!(one, two, "{mode:?}");
    }
}

#[test]
fn copy_i_equals_a_single_env_seeded_the_same_way() {
    let n = 4;
    let mut env = vec_env(n, 2, AutoresetMode::SameStep);
    let mut singles: Vec<TrafficScenario> = (0..n)
        .map(|_| TrafficScenario::new(short_config()).unwrap())
        .collect();
    let mut single_obs: Vec<_> = singles
        .iter_mut()
        .enumerate()
        .map(|(i, s)| s.reset(episode_seed(99, i, 0)))
        .collect();
    let mut episodes = vec![0u64; n];
    for (i, obs) in single_obs.iter().enumerate() {
        assert_eq!(env.typed_observation(i).unwrap(), obs);
    }
    for step in 0..3 * EPISODE {
        let actions: Vec<Action> = (0..n)
            .map(|i| policy(env.typed_observation(i).unwrap()))
            .collect();
        env.step(&actions).unwrap();
        for i in 0..n {
            let t = singles[i].step(&actions[i]).unwrap();
            assert_eq!(
                env.rewards()[i].to_bits(),
                t.reward.to_bits(),
                "copy {i} step {step}"
            );
            assert_eq!(env.truncated()[i], t.truncated);
            assert_eq!(env.info(i).unwrap(), &t.info);
            if t.truncated {
                // Same-step auto-reset: the final observation is kept, the next episode starts.
                assert_eq!(env.final_typed_observation(i), Some(&t.obs));
                assert_eq!(env.final_info(i), Some(&t.info));
                let mut encoded = vec![0.0; env.obs_len()];
                singles[i].encode(&t.obs, &mut encoded);
                assert_eq!(env.final_observation(i), Some(encoded.as_slice()));
                episodes[i] += 1;
                single_obs[i] = singles[i].reset(episode_seed(99, i, episodes[i]));
            } else {
                assert!(env.final_observation(i).is_none());
                single_obs[i] = t.obs;
            }
            assert_eq!(
                env.typed_observation(i).unwrap(),
                &single_obs[i],
                "copy {i} step {step}"
            );
        }
    }
    assert_eq!(episodes, vec![3; n]);
}

#[test]
fn next_step_mode_returns_the_final_observation_then_resets() {
    let mut env = vec_env(2, 1, AutoresetMode::NextStep);
    for _ in 0..EPISODE {
        let actions: Vec<Action> = (0..2)
            .map(|i| policy(env.typed_observation(i).unwrap()))
            .collect();
        env.step(&actions).unwrap();
    }
    assert_eq!(env.truncated(), &[true, true]);
    let last_interval = env.typed_observation(0).unwrap().interval;
    assert_eq!(last_interval, EPISODE as u64);
    // The next step's actions are ignored (even invalid ones): the copies reset.
    env.step(&[Action::Continuous(vec![f32::NAN]), Action::Discrete(3)])
        .unwrap();
    assert_eq!(env.typed_observation(0).unwrap().interval, 0);
    assert_eq!(env.rewards(), &[0.0, 0.0]);
    assert_eq!(env.truncated(), &[false, false]);
}

#[test]
fn invalid_actions_name_the_copy_and_change_nothing() {
    let mut env = vec_env(3, 2, AutoresetMode::SameStep);
    let before: Vec<f32> = env.observations().to_vec();
    let mut actions: Vec<Action> = (0..3)
        .map(|i| policy(env.typed_observation(i).unwrap()))
        .collect();
    let Action::Continuous(v) = &mut actions[2] else {
        unreachable!()
    };
    v[5] = f32::NAN;
    let err = env.step(&actions).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid action for env copy 2: action value at index 5 is not finite (NaN)"
    );
    assert_eq!(env.observations(), before.as_slice());
    assert_eq!(env.typed_observation(0).unwrap().interval, 0);
    let err = env.step(&actions[..2]).unwrap_err();
    assert!(
        matches!(
            err,
            EnvError::WrongBatch {
                expected: 3,
                got: 2
            }
        ),
        "{err}"
    );
}

#[test]
fn reset_restarts_identically() {
    let mut env = vec_env(2, 2, AutoresetMode::SameStep);
    let first = run(&mut env, 5);
    env.reset(99);
    assert_eq!(run(&mut env, 5), first);
    env.reset(100);
    assert_ne!(run(&mut env, 5), first);
}

#[test]
fn a_copy_restored_by_replay_continues_identically() {
    // Run 17 steps (one auto-reset at 12, then 5 steps into episode 1), recording copy 1's
    // actions in its current episode; a fresh vector env restored from them must continue
    // bit-identically.
    let mut a = vec_env(2, 1, AutoresetMode::SameStep);
    let mut episode_actions: Vec<Action> = Vec::new();
    for _ in 0..17 {
        let actions: Vec<Action> = (0..2)
            .map(|i| policy(a.typed_observation(i).unwrap()))
            .collect();
        a.step(&actions).unwrap();
        episode_actions.push(actions[1].clone());
        if a.truncated()[1] || a.terminated()[1] {
            episode_actions.clear();
        }
    }
    assert_eq!(a.episode(1), Some(1));
    assert_eq!(episode_actions.len(), 5);
    let mut b = vec_env(2, 1, AutoresetMode::SameStep);
    b.restore(1, 1, &episode_actions).unwrap();
    assert_eq!(
        a.observations()[a.obs_len()..],
        b.observations()[b.obs_len()..]
    );
    // Copy 0 of `b` is still at its start; step both copies' 1 and compare copy 1 only.
    for _ in 0..8 {
        let act = policy(a.typed_observation(1).unwrap());
        let a0 = policy(a.typed_observation(0).unwrap());
        let b0 = policy(b.typed_observation(0).unwrap());
        a.step(&[a0, act.clone()]).unwrap();
        b.step(&[b0, act]).unwrap();
        assert_eq!(a.rewards()[1].to_bits(), b.rewards()[1].to_bits());
        assert_eq!(
            a.observations()[a.obs_len()..],
            b.observations()[b.obs_len()..]
        );
        assert_eq!(a.episode(1), b.episode(1));
    }
    // Replaying past the end of an episode is an error, not a silent reset.
    let too_many = vec![policy(b.typed_observation(0).unwrap()); EPISODE];
    assert!(b.restore(0, 0, &too_many).is_err());
}
