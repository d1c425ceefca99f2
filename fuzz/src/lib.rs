//! planetgym-fuzz: every parser and loader a user's bytes reach, as fuzz targets
//! ([`targets::all`]), a corpus made from the real traces (`fuzz/corpus/<target>/`), and
//! a seeded mutation driver with a time budget (`planetgym-fuzz run`), which CI runs under a
//! memory limit. Each execution ends in one outcome class: accepted, refused cleanly, or a bug
//! (panic, non-finite result, abort, timeout).

#[cfg(feature = "full")]
pub mod full;
pub mod mutate;
pub mod targets;
