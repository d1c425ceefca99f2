//! Bounds on every size, count, rate and weight a user can set. A value that type-checks can
//! still take the machine's memory or run for ever; each check here names the field, the value,
//! the bound and why, and configs call them at load. Sizes that drive memory are bounded by an
//! estimate of the memory they need against a budget derived from the machine
//! ([`memory_budget`]), counts of threads by the machine's cores.

/// Largest finite weight or price a config accepts: rewards are sums of products of these
/// with counts, and they must stay finite (and useful in `f32`, where networks train) over a
/// long episode. `1e6` leaves more than twenty orders of magnitude of headroom.
pub const MAX_WEIGHT: f64 = 1e6;

/// Simulated minutes in a year: the longest episode, outage or event a config may describe.
pub const YEAR_MINUTES: f64 = 366.0 * 24.0 * 60.0;

/// Most episodes one evaluation may run: enough for any paired comparison, few enough that a
/// typo cannot occupy the machine for weeks.
pub const MAX_EPISODES: usize = 100_000;

/// Most copies in one vector env (each is a whole simulator; beyond this, batching more copies
/// per step gains nothing).
pub const MAX_ENV_COPIES: usize = 65_536;

/// A number for a message: plain when short, scientific when huge or tiny (`1e300`, not three
/// hundred digits).
pub fn num(value: f64) -> String {
    let a = value.abs();
    if a.is_finite() && a != 0.0 && !(1e-4..1e15).contains(&a) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// `value` is finite and in `[low, high]` (both inclusive).
pub fn within(name: &str, value: f64, low: f64, high: f64) -> Result<(), String> {
    if value.is_finite() && value >= low && value <= high {
        Ok(())
    } else {
        Err(format!(
            "{name} = {}: must be in [{}, {}] (inclusive)",
            num(value),
            num(low),
            num(high)
        ))
    }
}

/// `value` is finite, above 0 and at most `high`.
pub fn positive_at_most(name: &str, value: f64, high: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 && value <= high {
        Ok(())
    } else {
        let high = num(high);
        Err(format!(
            "{name} = {}: must be in (0, {high}] (above 0, at most {high})",
            num(value)
        ))
    }
}

/// A weight, price or cost: finite and in `[0, MAX_WEIGHT]`.
pub fn weight(name: &str, value: f64) -> Result<(), String> {
    within(name, value, 0.0, MAX_WEIGHT)
}

/// `[low, high]` with `min <= low <= high <= max`, all finite.
pub fn range_pair(name: &str, [low, high]: [f64; 2], min: f64, max: f64) -> Result<(), String> {
    if low.is_finite() && high.is_finite() && min <= low && low <= high && high <= max {
        Ok(())
    } else {
        Err(format!(
            "{name} = [{}, {}]: need finite {} <= low <= high <= {}",
            num(low),
            num(high),
            num(min),
            num(max)
        ))
    }
}

/// A count in `[low, high]` (inclusive); `why` says what the upper bound protects.
pub fn count(name: &str, value: u64, low: u64, high: u64, why: &str) -> Result<(), String> {
    if value < low {
        Err(format!("{name} = {value}: must be at least {low}"))
    } else if value > high {
        Err(format!("{name} = {value}: at most {high} ({why})"))
    } else {
        Ok(())
    }
}

/// Bytes of memory one process may plan to use for a single structure (a vector env's
/// copies, a network, a rollout buffer, a trace): half the machine's physical memory, or half
/// the process's address-space limit (`ulimit -v`) if that is lower, so that a config that fits
/// leaves room for everything else on a shared machine. 8 GiB where neither can be read.
pub fn memory_budget() -> u64 {
    const FALLBACK: u64 = 8 << 30;
    let field = |file: &str, key: &str| -> Option<u64> {
        let text = std::fs::read_to_string(file).ok()?;
        let line = text.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    };
    let physical = field("/proc/meminfo", "MemTotal:").map(|kib| kib.saturating_mul(1024));
    let address_space = field("/proc/self/limits", "Max address space");
    match (physical, address_space) {
        (None, None) => FALLBACK,
        (p, a) => p.unwrap_or(u64::MAX).min(a.unwrap_or(u64::MAX)) / 2,
    }
}

/// Checks that `estimate_bytes` (what `what` would allocate; `f64` so that products of user
/// sizes cannot overflow) fits in the memory budget.
pub fn memory(what: &str, estimate_bytes: f64) -> Result<(), String> {
    let budget = memory_budget();
    if estimate_bytes.is_finite() && estimate_bytes <= budget as f64 {
        Ok(())
    } else {
        Err(format!(
            "{what} would need about {}, more than the {} this process may use (half of the machine's memory)",
            human_bytes(estimate_bytes),
            human_bytes(budget as f64)
        ))
    }
}

/// Most worker threads: 16 per core (at least 64). More threads than that only add switching,
/// and a million of them exhausts the machine.
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (16 * cores).max(64)
}

/// Checks a worker-thread count (0 = one per core).
pub fn threads(name: &str, value: usize) -> Result<(), String> {
    count(
        name,
        value as u64,
        0,
        max_threads() as u64,
        "16 threads per core of this machine; 0 means one per core",
    )
}

/// Checks a number of vector-env copies (`num_envs`).
pub fn env_copies(name: &str, value: usize) -> Result<(), String> {
    count(
        name,
        value as u64,
        1,
        MAX_ENV_COPIES as u64,
        "each copy is a whole simulator",
    )
}

/// Checks a number of evaluation episodes.
pub fn episodes(name: &str, value: usize) -> Result<(), String> {
    count(
        name,
        value as u64,
        1,
        MAX_EPISODES as u64,
        "each episode is simulated in full for every policy",
    )
}

/// A size in bytes, in binary units (`1.5 GiB`).
pub fn human_bytes(bytes: f64) -> String {
    if !bytes.is_finite() {
        return "an unbounded amount of memory".into();
    }
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} bytes")
    } else if value >= 1024.0 {
        format!("{value:.3e} {}", units[unit])
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// `text` for an error message: at most `max` characters, with how much was left out.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}... ({} bytes in all)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_say_inclusive_and_refuse_non_finite_values() {
        assert!(within("x", 1.0, 0.0, 1.0).is_ok());
        assert_eq!(
            within("x", 2.0, 0.0, 1.0).unwrap_err(),
            "x = 2: must be in [0, 1] (inclusive)"
        );
        for bad in [f64::NAN, f64::INFINITY, -f64::INFINITY] {
            assert!(within("x", bad, f64::MIN, f64::MAX).is_err());
            assert!(positive_at_most("x", bad, f64::MAX).is_err());
            assert!(range_pair("x", [0.0, bad], 0.0, f64::MAX).is_err());
        }
        assert!(positive_at_most("x", 0.0, 1.0).is_err());
        assert_eq!(
            weight("w", 1e308).unwrap_err(),
            "w = 1e308: must be in [0, 1000000] (inclusive)"
        );
        assert_eq!(num(1.2e21), "1.2e21");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(f64::NAN), "NaN");
    }

    #[test]
    fn counts_name_the_bound_and_why() {
        let err = count("n", 10, 1, 9, "because").unwrap_err();
        assert_eq!(err, "n = 10: at most 9 (because)");
        assert_eq!(
            count("n", 0, 1, 9, "b").unwrap_err(),
            "n = 0: must be at least 1"
        );
        assert!(count("n", 9, 1, 9, "b").is_ok());
        assert!(threads("threads", 1_000_000).is_err());
        assert!(threads("threads", 0).is_ok());
        assert!(episodes("episodes", 0).is_err());
        assert!(episodes("episodes", MAX_EPISODES + 1).is_err());
    }

    #[test]
    fn memory_estimates_beyond_the_budget_are_refused() {
        assert!(memory_budget() >= 1 << 20);
        assert!(memory("a small table", 1e6).is_ok());
        let err = memory("1e12 rows", 1e18).unwrap_err();
        assert!(
            err.starts_with("1e12 rows would need about 888.2 PiB"),
            "{err}"
        );
        assert!(memory("nan", f64::NAN).is_err());
        assert!(memory("huge", f64::INFINITY).is_err());
    }

    #[test]
    fn excerpts_cut_long_text_on_a_character_boundary() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("ééééé", 2), "éé... (10 bytes in all)");
        assert_eq!(human_bytes(512.0), "512 bytes");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
    }
}
