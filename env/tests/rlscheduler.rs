//! RLScheduler (SC'20) heuristic baselines reproduced: seed-1 evaluation windows of 1024 jobs
//! on Lublin-1 and Lublin-2, FCFS and SJF, without and with its backfilling. Expected values
//! are paper Table V (mean bounded slowdown, 2 decimals) and, per window, a re-run of its
//! unmodified simulator (`HPCSimPickJobs.py`, `schedule_curr_sequence_reset`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::batch::rlscheduler::rlscheduler_window_starts;
use planetgym_env::batch::{Job, Simulation, load_log};
use planetgym_env::traces::swf::SwfOptions;

const WINDOW: usize = 1024;

#[derive(Clone, Copy)]
enum Policy {
    Fcfs,
    Sjf,
}

/// Mean bounded slowdown (10 s threshold) of each of the 10 seed-1 windows.
fn window_scores(trace: &str, policy: Policy, backfill: bool) -> Vec<f64> {
    let log = load_log(trace, SwfOptions::default()).unwrap();
    // RLScheduler's loader keeps every Lublin job, in job-id order (= submit order here).
    assert_eq!(
        (log.jobs.len(), log.unusable_jobs, log.too_wide_jobs),
        (10_000, 0, 0)
    );
    assert!(log.jobs.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(log.machine_procs, 256);
    let starts = rlscheduler_window_starts(1, log.jobs.len(), WINDOW, 10).unwrap();
    assert_eq!(
        starts,
        [1981, 2756, 4299, 8850, 3316, 2714, 5228, 7762, 4022, 7085]
    );
    starts
        .iter()
        .map(|&first| {
            let jobs = log.jobs[first..first + WINDOW]
                .iter()
                .map(|j| Job {
                    submit: j.submit,
                    run: j.run,
                    requested: j.requested_time,
                    procs: j.procs,
                })
                .collect();
            let mut sim = Simulation::rlscheduler(jobs, log.machine_procs, backfill);
            while sim.advance_to_decision() {
                let pick = match policy {
                    // Arrival order is submit order, and RLScheduler's sort is stable.
                    Policy::Fcfs => 0,
                    // Smallest (requested, submit); the earliest queued among equals.
                    Policy::Sjf => {
                        let queue = sim.queue();
                        (0..queue.len())
                            .min_by_key(|&i| {
                                let job = sim.jobs()[queue[i]];
                                (job.requested, job.submit, i)
                            })
                            .unwrap()
                    }
                };
                sim.schedule(pick);
            }
            assert!(sim.all_started());
            sim.metrics(10.0).bounded_slowdown
        })
        .collect()
}

fn check(trace: &str, policy: Policy, backfill: bool, paper: f64, per_window: [f64; 10]) {
    let got = window_scores(trace, policy, backfill);
    for (i, (g, e)) in got.iter().zip(per_window).enumerate() {
        assert!(
            (g - e).abs() <= 1e-9 * e,
            "{trace} window {i}: {g} vs RLScheduler's {e}"
        );
    }
    let mean = got.iter().sum::<f64>() / got.len() as f64;
    assert_eq!(format!("{mean:.2}"), format!("{paper:.2}"), "{trace}");
}

const LUBLIN_1: &str = "builtin:lublin_256";
const LUBLIN_2: &str = "builtin:lublin_256_new2";

#[test]
fn lublin_1_without_backfilling() {
    check(
        LUBLIN_1,
        Policy::Fcfs,
        false,
        7273.77,
        [
            6862.263618932564,
            7034.452357797289,
            9090.835915451878,
            5405.499234883676,
            7847.367907047758,
            6366.980795524518,
            7655.811818054614,
            7535.137543345729,
            10071.418353007182,
            4867.946060834311,
        ],
    );
    check(
        LUBLIN_1,
        Policy::Sjf,
        false,
        277.35,
        [
            204.2584534312532,
            251.41768307754256,
            214.31973986364437,
            169.68551727420078,
            297.43127865006886,
            245.29953736237903,
            496.1383932298331,
            229.89698256152607,
            235.67774648273735,
            429.3580752960717,
        ],
    );
}

#[test]
fn lublin_1_with_backfilling() {
    check(
        LUBLIN_1,
        Policy::Fcfs,
        true,
        235.82,
        [
            163.7064390829407,
            263.50145620958443,
            247.54422925520373,
            128.5666197753225,
            261.41510166032197,
            239.8149282881343,
            192.0727124432118,
            358.81340329875616,
            297.7757875818704,
            204.96237205236127,
        ],
    );
    check(
        LUBLIN_1,
        Policy::Sjf,
        true,
        73.31,
        [
            69.87023540412783,
            55.16638389773559,
            63.998646173522836,
            34.96244789502939,
            113.95027142977929,
            49.19440484182397,
            93.04309890261094,
            121.1910814807524,
            59.540507216604624,
            72.14789114909247,
        ],
    );
}

#[test]
fn lublin_2_without_backfilling() {
    check(
        LUBLIN_2,
        Policy::Fcfs,
        false,
        7842.47,
        [
            7922.333699901656,
            8673.9043518284,
            12469.307585394527,
            2844.9250452306724,
            1388.9903603484913,
            8355.925151627265,
            3546.1585755108963,
            12516.34155558396,
            10226.659860591899,
            10480.162684356983,
        ],
    );
    check(
        LUBLIN_2,
        Policy::Sjf,
        false,
        787.89,
        [
            442.98529457942163,
            1400.4606109039098,
            1218.9852240903222,
            328.4863119263951,
            410.9498071802984,
            1414.1660985150997,
            482.27519168489454,
            1164.7165899438123,
            495.1920666304349,
            520.6566035629696,
        ],
    );
}

#[test]
fn lublin_2_with_backfilling() {
    check(
        LUBLIN_2,
        Policy::Fcfs,
        true,
        247.61,
        [
            150.07858436284977,
            202.22677256794492,
            821.0801130875054,
            78.22921971626174,
            71.43279202587284,
            199.740253328686,
            254.92875871735941,
            311.3311347468758,
            271.5355169001094,
            115.48426215867566,
        ],
    );
    check(
        LUBLIN_2,
        Policy::Sjf,
        true,
        91.99,
        [
            60.15116864123679,
            118.67278340754692,
            55.275706525411245,
            31.753301984100435,
            53.76869104481967,
            117.58519394118008,
            114.64667963525953,
            172.218083058688,
            98.14976145269874,
            97.7122286911435,
        ],
    );
}
