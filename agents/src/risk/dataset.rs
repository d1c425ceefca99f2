//! A labelled prediction task: one row per prediction, made at a time from what was known
//! then, with the time its label became known; and the strictly temporal split that trains,
//! tunes and tests on successive stretches of time.

use serde::Serialize;

/// Rows of features (row-major), their labels, when each prediction is made and when its
/// label becomes known (s, any origin). `holdout` rows come from the held-out continuation of
/// the trace: they are only ever scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub task: String,
    pub features: Vec<String>,
    pub x: Vec<f64>,
    pub y: Vec<bool>,
    pub at: Vec<f64>,
    pub known: Vec<f64>,
    pub holdout: Vec<bool>,
    /// What the builder left out, and why.
    pub notes: Vec<String>,
    /// For tasks about the onset of an event: per onset, the rows before it that predict it,
    /// with how many minutes before it each is (for recall by lead time).
    pub onsets: Vec<Vec<(f64, usize)>>,
    /// For telemetry tasks: each row's recent history, for sequence models.
    pub sequences: Option<Sequences>,
}

/// Per row, the rows of the same entity (a host, a site's day) that precede it, oldest first
/// and the row itself last: a window over time of some of its features (`channels`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequences {
    pub window: usize,
    pub channels: Vec<usize>,
    /// `rows x window` row indices; `MISSING` where the entity has fewer earlier rows.
    pub previous: Vec<u32>,
}

impl Sequences {
    pub const MISSING: u32 = u32::MAX;
    /// Longest window: each row keeps this many indices.
    pub const MAX_WINDOW: usize = 288;

    /// The window of row `i`: row indices, oldest first.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.previous[i * self.window..(i + 1) * self.window]
    }
}

impl Dataset {
    pub fn new(task: &str, features: &[&str]) -> Self {
        Self {
            task: task.to_string(),
            features: features.iter().map(|f| f.to_string()).collect(),
            x: Vec::new(),
            y: Vec::new(),
            at: Vec::new(),
            known: Vec::new(),
            holdout: Vec::new(),
            notes: Vec::new(),
            onsets: Vec::new(),
            sequences: None,
        }
    }

    /// Gives every row a window of the `window` time steps of `step` seconds that end at it:
    /// step `k` holds the row of the same `keys` entry (an entity: a host, a site's day) made
    /// `window - 1 - k` steps earlier, or nothing (`MISSING`) where that entity has no row then
    /// (before its history starts, or in a gap: a host in repair, a site in breach).
    pub fn set_sequences(
        &mut self,
        keys: &[u64],
        window: usize,
        channels: &[usize],
        step: f64,
    ) -> Result<(), String> {
        if keys.len() != self.rows() {
            return Err(format!(
                "{}: {} sequence keys for {} rows",
                self.task,
                keys.len(),
                self.rows()
            ));
        }
        if window == 0
            || window > Sequences::MAX_WINDOW
            || self.rows() >= Sequences::MISSING as usize
        {
            return Err(format!(
                "{}: a window of {window} rows over {} rows (1 to {} rows, fewer than 2^32 rows)",
                self.task,
                self.rows(),
                Sequences::MAX_WINDOW
            ));
        }
        if !(step.is_finite() && step > 0.0) {
            return Err(format!(
                "{}: the sequence step {step} must be positive",
                self.task
            ));
        }
        if let Some(&c) = channels.iter().find(|&&c| c >= self.features.len()) {
            return Err(format!("{}: channel {c} is not a feature", self.task));
        }
        let mut order: Vec<usize> = (0..self.rows()).collect();
        order.sort_by(|&a, &b| {
            keys[a]
                .cmp(&keys[b])
                .then(self.at[a].total_cmp(&self.at[b]))
                .then(a.cmp(&b))
        });
        let mut previous = vec![Sequences::MISSING; self.rows() * window];
        for (k, &i) in order.iter().enumerate() {
            for &j in order[..=k].iter().rev() {
                let back = ((self.at[i] - self.at[j]) / step).round();
                if keys[j] != keys[i] || back >= window as f64 {
                    break;
                }
                let slot = &mut previous[i * window + window - 1 - back as usize];
                if *slot == Sequences::MISSING {
                    *slot = j as u32;
                }
            }
        }
        self.sequences = Some(Sequences {
            window,
            channels: channels.to_vec(),
            previous,
        });
        Ok(())
    }

    /// Adds a row; `values` must have one entry per feature, each finite.
    pub fn push(
        &mut self,
        values: &[f64],
        label: bool,
        at: f64,
        known: f64,
        holdout: bool,
    ) -> Result<(), String> {
        if values.len() != self.features.len() {
            return Err(format!(
                "{}: a row of {} values for {} features",
                self.task,
                values.len(),
                self.features.len()
            ));
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "{}: feature `{}` of row {} is {}",
                self.task,
                self.features[k],
                self.y.len(),
                values[k]
            ));
        }
        self.x.extend_from_slice(values);
        self.y.push(label);
        self.at.push(at);
        self.known.push(known);
        self.holdout.push(holdout);
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.y.len()
    }

    pub fn row(&self, i: usize) -> &[f64] {
        let d = self.features.len();
        &self.x[i * d..(i + 1) * d]
    }
}

/// The mean and standard deviation of each of `features` over `rows` (a constant feature gets
/// a scale of 1), to standardise inputs by.
pub fn standardisation(data: &Dataset, rows: &[usize], features: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len().max(1) as f64;
    let column = |f: usize| rows.iter().map(move |&i| data.row(i)[f]);
    let mean: Vec<f64> = features
        .iter()
        .map(|&f| column(f).sum::<f64>() / n)
        .collect();
    let scale = features
        .iter()
        .zip(&mean)
        .map(|(&f, m)| {
            let sd = (column(f).map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
            if sd > 0.0 { sd } else { 1.0 }
        })
        .collect();
    (mean, scale)
}

/// Row indices of each part, in time order, and the times that separate them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemporalSplit {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
    pub holdout: Vec<usize>,
    /// Validation starts at `cuts[0]`, test at `cuts[1]`.
    pub cuts: [f64; 2],
    /// Training and validation rows left out because their label was not known yet when the
    /// next part starts: a model trained then could not have seen it.
    pub purged: usize,
}

/// Splits the rows that are not held out by the time their prediction is made: the first
/// `fractions[0]` of them train, the next `fractions[1]` validate, the rest test. A part
/// never starts in the middle of equal times. Rows whose label is known only after the next
/// part starts are purged from training and validation.
pub fn temporal_split(data: &Dataset, fractions: [f64; 2]) -> Result<TemporalSplit, String> {
    let [train, validation] = fractions;
    if !(train > 0.0 && validation > 0.0 && train + validation < 1.0) {
        return Err(format!(
            "split fractions {train} and {validation}: each must be positive and their sum below 1 (the rest tests)"
        ));
    }
    let mut order: Vec<usize> = (0..data.rows()).filter(|&i| !data.holdout[i]).collect();
    order.sort_by(|&a, &b| data.at[a].total_cmp(&data.at[b]).then(a.cmp(&b)));
    let n = order.len();
    let cut = |fraction: f64| {
        let k = ((fraction * n as f64) as usize).min(n.saturating_sub(1));
        order.get(k).map_or(f64::INFINITY, |&i| data.at[i])
    };
    let cuts = [cut(train), cut(train + validation)];
    if cuts[0] >= cuts[1] || cuts[1].is_infinite() {
        return Err(format!(
            "{}: too few distinct times to split {n} rows into training, validation and test",
            data.task
        ));
    }
    let mut split = TemporalSplit {
        train: Vec::new(),
        validation: Vec::new(),
        test: Vec::new(),
        holdout: (0..data.rows()).filter(|&i| data.holdout[i]).collect(),
        cuts,
        purged: 0,
    };
    for i in order {
        let (part, next) = if data.at[i] < cuts[0] {
            (&mut split.train, cuts[0])
        } else if data.at[i] < cuts[1] {
            (&mut split.validation, cuts[1])
        } else {
            (&mut split.test, f64::INFINITY)
        };
        if data.known[i] < next {
            part.push(i);
        } else {
            split.purged += 1;
        }
    }
    for (name, part) in [
        ("training", &split.train),
        ("validation", &split.validation),
        ("test", &split.test),
    ] {
        let positives = part.iter().filter(|&&i| data.y[i]).count();
        if positives == 0 || positives == part.len() {
            return Err(format!(
                "{}: the {name} part ({} rows) has a single class: nothing to learn or score",
                data.task,
                part.len()
            ));
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Dataset {
        let mut d = Dataset::new("toy", &["a"]);
        for i in 0..n {
            // Times out of order, labels known 5 s later, every third positive.
            let at = ((i * 7) % n) as f64;
            d.push(&[i as f64], i % 3 == 0, at, at + 5.0, i >= n - 10)
                .unwrap();
        }
        d
    }

    /// A window holds only earlier rows of the same entity, oldest first, the row itself last.
    #[test]
    fn sequences_link_earlier_rows_of_the_same_entity_only() {
        let mut d = Dataset::new("toy", &["a", "b"]);
        // Two entities interleaved, one row each per time step; entity 1 starts later.
        let mut keys = Vec::new();
        for t in 0..6 {
            for e in 0..2u64 {
                if e == 1 && t < 3 {
                    continue;
                }
                d.push(&[t as f64, e as f64], false, t as f64, t as f64, false)
                    .unwrap();
                keys.push(e);
            }
        }
        d.set_sequences(&keys, 4, &[0], 1.0).unwrap();
        let s = d.sequences.as_ref().unwrap();
        for i in 0..d.rows() {
            let window = s.of(i);
            assert_eq!(window[3], i as u32, "the row itself is last");
            let linked: Vec<usize> = window
                .iter()
                .filter(|&&j| j != Sequences::MISSING)
                .map(|&j| j as usize)
                .collect();
            assert!(
                linked
                    .iter()
                    .all(|&j| keys[j] == keys[i] && d.at[j] <= d.at[i])
            );
            assert!(linked.windows(2).all(|w| d.at[w[0]] < d.at[w[1]]));
            // Missing steps only at the start of an entity's history.
            let missing = window
                .iter()
                .take_while(|&&j| j == Sequences::MISSING)
                .count();
            assert_eq!(missing + linked.len(), 4);
            assert_eq!(
                linked.len(),
                (d.at[i] as usize - if keys[i] == 1 { 3 } else { 0 } + 1).min(4)
            );
        }
        assert!(d.set_sequences(&keys[1..], 4, &[0], 1.0).is_err());
        assert!(d.set_sequences(&keys, 4, &[2], 1.0).is_err());
        assert!(d.set_sequences(&keys, 0, &[0], 1.0).is_err());
        assert!(d.set_sequences(&keys, 4, &[0], 0.0).is_err());
        // A gap in time leaves its steps empty: entity 0 without its rows at times 1 and 2.
        let mut g = Dataset::new("gap", &["a"]);
        for t in [0.0, 3.0, 4.0] {
            g.push(&[t], false, t, t, false).unwrap();
        }
        g.set_sequences(&[0, 0, 0], 4, &[0], 1.0).unwrap();
        let m = Sequences::MISSING;
        assert_eq!(g.sequences.unwrap().of(2).to_vec(), vec![m, m, 1, 2]);
    }

    #[test]
    fn parts_follow_each_other_in_time_and_purge_labels_not_yet_known() {
        let d = data(101);
        let s = temporal_split(&d, [0.6, 0.2]).unwrap();
        let max = |p: &[usize]| p.iter().map(|&i| d.at[i]).fold(f64::MIN, f64::max);
        let min = |p: &[usize]| p.iter().map(|&i| d.at[i]).fold(f64::MAX, f64::min);
        assert!(max(&s.train) < s.cuts[0] && s.cuts[0] <= min(&s.validation));
        assert!(max(&s.validation) < s.cuts[1] && s.cuts[1] <= min(&s.test));
        // No training label is known after validation starts, nor validation's after test.
        assert!(s.train.iter().all(|&i| d.known[i] < s.cuts[0]));
        assert!(s.validation.iter().all(|&i| d.known[i] < s.cuts[1]));
        // Up to 5 s of labels before each of the two cuts are purged; held-out rows are never
        // split.
        assert!((1..=10).contains(&s.purged), "{}", s.purged);
        assert_eq!(s.holdout.len(), 10);
        let all = s.train.len() + s.validation.len() + s.test.len() + s.purged;
        assert_eq!(all + s.holdout.len(), 101);
        assert!(
            s.holdout
                .iter()
                .all(|i| !s.train.contains(i) && !s.test.contains(i))
        );
    }

    #[test]
    fn bad_fractions_rows_and_single_classes_are_refused() {
        let d = data(101);
        assert!(
            temporal_split(&d, [0.9, 0.2])
                .unwrap_err()
                .contains("fractions")
        );
        let mut same = Dataset::new("flat", &["a"]);
        for i in 0..50 {
            same.push(&[1.0], i % 2 == 0, 3.0, 3.0, false).unwrap();
        }
        assert!(
            temporal_split(&same, [0.6, 0.2])
                .unwrap_err()
                .contains("distinct times")
        );
        let mut one = Dataset::new("one", &["a"]);
        for i in 0..50 {
            one.push(&[1.0], false, i as f64, i as f64, false).unwrap();
        }
        assert!(
            temporal_split(&one, [0.6, 0.2])
                .unwrap_err()
                .contains("single class")
        );
        let e = Dataset::new("x", &["a", "b"]).push(&[1.0], true, 0.0, 0.0, false);
        assert!(e.unwrap_err().contains("1 values for 2"));
        let e = Dataset::new("x", &["a"]).push(&[f64::NAN], true, 0.0, 0.0, false);
        assert!(e.unwrap_err().contains("feature `a`"));
    }
}
