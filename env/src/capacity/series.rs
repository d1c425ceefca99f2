//! Real demand series for capacity planning, read from the public traces in their own formats.
//!
//! Gaps are never filled: a series is cut to its longest stretch without missing samples, and
//! what was cut is reported in `DemandSeries::gaps`.
//!
//! Sources (`kind:path[:column]`):
//! - `builtin:azure_vm_v2`: Azure VM v2 2019, summed CPU usage, 300 s, days 1-21 (embedded);
//! - `azure_vm_v2:PATH`: another file of the same Azure series (e.g. the holdout days 22-30);
//! - `google2019:PATH`: Google 2019 cluster averages (`day,row_in_day,avg_cpu`, 300 s);
//! - `alibaba2018:PATH`: Alibaba 2018 cluster averages (`day,row_in_day,cpu_util_percent`, 300 s);
//! - `planetlab:PATH:ROW`: one PlanetLab VM (row ROW of `vm_id,t000..t287`, 300 s, one day);
//! - `qps:PATH`: Alibaba 2026 GenAI per-container QPS samples summed in 300 s bins.

use crate::error::EnvError;
use crate::traces::table;
use crate::world::diurnal::AZURE_VM_V2_CPU_CSV;
use std::collections::BTreeMap;

pub const STEP_S: f64 = 300.0;

/// Range of a demand sample: demand is never negative, and a single sample near `f64::MAX`
/// would turn every mean and cost into infinity.
const DEMAND: [f64; 2] = [0.0, 1e12];
/// Range of a timestamp's distance from the first one (s): three thousand years.
const TIME_SPAN: [f64; 2] = [-1e11, 1e11];

#[derive(Debug, Clone, PartialEq)]
pub struct DemandSeries {
    pub name: String,
    /// Samples every `STEP_S` seconds.
    pub values: Vec<f64>,
    /// What was cut to keep the longest gap-free stretch (empty if nothing).
    pub gaps: String,
}

impl DemandSeries {
    /// Means over consecutive blocks of `period_s` (a multiple of 300 s); a trailing partial
    /// block is dropped.
    pub fn resample(&self, period_s: f64) -> Result<Vec<f64>, EnvError> {
        let k = (period_s / STEP_S).round() as usize;
        if k == 0 || (k as f64 * STEP_S - period_s).abs() > 1e-9 {
            return Err(EnvError::config(format!(
                "period_s = {period_s}: must be a positive multiple of 300"
            )));
        }
        Ok(self
            .values
            .chunks_exact(k)
            .map(|c| c.iter().sum::<f64>() / k as f64)
            .collect())
    }
}

/// Loads a series named by `spec` (see the module documentation).
pub fn load(spec: &str) -> Result<DemandSeries, EnvError> {
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let read = |path: &str| crate::input::read_to_string(std::path::Path::new(path));
    let mut notes = Vec::new();
    let slots = match kind {
        "builtin" if rest == "azure_vm_v2" => {
            timestamped(AZURE_VM_V2_CPU_CSV, spec, "timestamp", "cpu_usage", false)?
        }
        "azure_vm_v2" => timestamped(&read(rest)?, rest, "timestamp", "cpu_usage", false)?,
        "google2019" => day_rows(&read(rest)?, rest, "avg_cpu", &mut notes)?,
        "alibaba2018" => day_rows(&read(rest)?, rest, "cpu_util_percent", &mut notes)?,
        "qps" => timestamped(&read(rest)?, rest, "timestamp_anon", "value", true)?,
        "planetlab" => {
            let (path, row) = rest
                .rsplit_once(':')
                .ok_or_else(|| EnvError::config(format!("`{spec}`: use planetlab:PATH:ROW")))?;
            planetlab_row(&read(path)?, path, row)?
        }
        _ => {
            return Err(EnvError::config(format!(
                "unknown series `{spec}`; use builtin:azure_vm_v2, azure_vm_v2:PATH, google2019:PATH, alibaba2018:PATH, planetlab:PATH:ROW or qps:PATH"
            )));
        }
    };
    let (values, gaps) = longest_run(&slots);
    notes.extend((!gaps.is_empty()).then_some(gaps));
    let gaps = notes.join("; ");
    if values.len() < 2 {
        return Err(EnvError::data(spec, "fewer than two samples without gaps"));
    }
    Ok(DemandSeries {
        name: spec.to_string(),
        values,
        gaps,
    })
}

/// Samples by slot index (slot = time / 300 s); `None` = missing.
type Slots = BTreeMap<i64, f64>;

fn longest_run(slots: &Slots) -> (Vec<f64>, String) {
    let (Some((&first, _)), Some((&last, _))) = (slots.first_key_value(), slots.last_key_value())
    else {
        return (Vec::new(), String::new());
    };
    let (mut best, mut current): ((i64, i64), (i64, i64)) = ((first, first), (first, first));
    let mut previous = first;
    for &slot in slots.keys().skip(1) {
        if slot == previous + 1 {
            current.1 = slot;
        } else {
            current = (slot, slot);
        }
        if current.1 - current.0 > best.1 - best.0 {
            best = current;
        }
        previous = slot;
    }
    let values: Vec<f64> = slots.range(best.0..=best.1).map(|(_, &v)| v).collect();
    let total = (last - first + 1) as usize;
    let gaps = if values.len() == total {
        String::new()
    } else {
        format!(
            "{} of {} 300-s slots missing; kept slots {}..={} ({} samples), cut the rest",
            total - slots.len(),
            total,
            best.0 - first,
            best.1 - first,
            values.len()
        )
    };
    (values, gaps)
}

/// `time,value` rows; with `sum` several samples per slot are added (per-container QPS).
fn timestamped(
    text: &str,
    source: &str,
    time: &str,
    value: &str,
    sum: bool,
) -> Result<Slots, EnvError> {
    let (headers, rows) = table::rows(text, source)?;
    let cols = [
        table::column(&headers, time, source)?,
        table::column(&headers, value, source)?,
    ];
    let mut slots = Slots::new();
    let mut t0 = None;
    for row in rows {
        let (line, record) = row?;
        let at = (line, source);
        let t = table::finite(&record, cols[0], line, source, time)?;
        let v = table::number_in(&record, cols[1], at, value, DEMAND)?;
        let start = *t0.get_or_insert(t);
        if !(TIME_SPAN[0]..=TIME_SPAN[1]).contains(&(t - start)) {
            return Err(EnvError::data(
                source,
                format!(
                    "line {line}: {time} = {t} is more than {} s from the first sample's",
                    TIME_SPAN[1]
                ),
            ));
        }
        let slot = ((t - start) / STEP_S).floor() as i64;
        if sum {
            *slots.entry(slot).or_insert(0.0) += v;
        } else if slots.insert(slot, v).is_some() {
            return Err(EnvError::data(
                source,
                format!("line {line}: two samples in the same 300-s slot"),
            ));
        }
    }
    Ok(slots)
}

/// `day,row_in_day,value` rows (288 per complete day); days with another count are dropped and
/// noted.
fn day_rows(
    text: &str,
    source: &str,
    value: &str,
    notes: &mut Vec<String>,
) -> Result<Slots, EnvError> {
    let (headers, rows) = table::rows(text, source)?;
    let cols = [
        table::column(&headers, "day", source)?,
        table::column(&headers, "row_in_day", source)?,
        table::column(&headers, value, source)?,
    ];
    // Per day: the last row_in_day seen and the values in row order.
    let mut per_day: BTreeMap<i64, (f64, Vec<f64>)> = BTreeMap::new();
    for row in rows {
        let (line, record) = row?;
        let at = (line, source);
        let day = table::number_in(&record, cols[0], at, "day", [0.0, 1e6])?;
        let row_in_day = table::number_in(&record, cols[1], at, "row_in_day", [0.0, 1e6])?;
        let v = table::number_in(&record, cols[2], at, value, DEMAND)?;
        let (last, values) = per_day.entry(day as i64).or_insert((-1.0, Vec::new()));
        if row_in_day <= *last {
            return Err(EnvError::data(
                source,
                format!(
                    "line {line}: row_in_day = {row_in_day} after {last} in day {day}: a day's rows must be in increasing row_in_day order"
                ),
            ));
        }
        *last = row_in_day;
        values.push(v);
    }
    // `row_in_day` is a row index, not a clock: a day with fewer than 288 rows has gaps at
    // unknown times, so none of its rows can be placed and the whole day counts as missing.
    let mut slots = Slots::new();
    for (day, (_, rows)) in per_day {
        if rows.len() != 288 {
            notes.push(format!(
                "day {day} has {} rows instead of 288: dropped",
                rows.len()
            ));
            continue;
        }
        for (i, v) in rows.into_iter().enumerate() {
            slots.insert(day * 288 + i as i64, v);
        }
    }
    Ok(slots)
}

fn planetlab_row(text: &str, source: &str, row: &str) -> Result<Slots, EnvError> {
    let index: usize = row
        .parse()
        .map_err(|_| EnvError::config(format!("planetlab row `{row}` is not a number")))?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let record = reader
        .records()
        .nth(index)
        .ok_or_else(|| EnvError::data(source, format!("no row {index}")))?
        .map_err(|e| table::csv_error(source, &e, text))?;
    (1..record.len())
        .map(|c| {
            Ok((
                (c - 1) as i64,
                table::number_in(
                    &record,
                    c,
                    (table::line_of(&record, text), source),
                    "utilisation",
                    DEMAND,
                )?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_loads_whole_and_resamples_to_hours() {
        let s = load("builtin:azure_vm_v2").unwrap();
        assert_eq!((s.values.len(), s.gaps.as_str()), (21 * 288, ""));
        let hourly = s.resample(3600.0).unwrap();
        assert_eq!(hourly.len(), 21 * 24);
        assert!((hourly[0] - s.values[..12].iter().sum::<f64>() / 12.0).abs() < 1e-6);
        assert!(s.resample(1000.0).is_err());
    }

    #[test]
    fn gaps_cut_the_series_to_its_longest_complete_stretch() {
        let mut slots = Slots::new();
        for t in (0..10).chain(12..30).chain(31..33) {
            slots.insert(t, t as f64);
        }
        let (values, gaps) = longest_run(&slots);
        assert_eq!(values, (12..30).map(|t| t as f64).collect::<Vec<_>>());
        assert_eq!(
            gaps,
            "3 of 33 300-s slots missing; kept slots 12..=29 (18 samples), cut the rest"
        );
        let text = "day,row_in_day,v\n1,0,1.0\n1,1,x\n";
        assert!(
            day_rows(text, "d.csv", "v", &mut Vec::new())
                .unwrap_err()
                .to_string()
                .contains("line 3: v `x` is not a finite number")
        );
        assert!(
            load("nope:x")
                .unwrap_err()
                .to_string()
                .contains("unknown series")
        );
    }
}
