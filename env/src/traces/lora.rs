//! Alibaba cluster-trace-v2026 GenAI `lora_request_trace`: one row per image-generation
//! request to a (LoRA-adapted) diffusion model service.
//!
//! Columns: `gmt_create` (`YYYY-MM-DD HH:MM:SS`, an anonymised offset of the real time),
//! `predict_type` (`TXT_2_IMG`, `IMG_2_IMG`, `INPAINTING`), `predict_status` (`SUCCEED`,
//! `FAILED`, `PENDING`, `PROCESSING`), `exec_time_seconds`, `groupId` (the user group), `prompt_length`,
//! `negative_prompt_length`, `num_images_per_prompt`, `num_inference_steps` (all four empty
//! for some requests), `checkpoint_model_version_id` (the base model) and `num_lora`.

use super::table::{number, read_rows};
use crate::bounds::excerpt;
use crate::error::EnvError;
use std::io::Read;

/// Most images, inference steps, LoRA adapters and prompt tokens one request may ask for, and
/// the longest execution (a day): far beyond the trace's, so that features stay finite.
const MAX_COUNT: f64 = 1e6;
const MAX_EXEC_S: f64 = 86_400.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoraStatus {
    Succeeded,
    Failed,
    /// `PENDING` or `PROCESSING` when the trace was taken: the outcome is unknown.
    Unfinished,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoraRequest {
    /// Seconds since 1970-01-01 00:00:00 of the (offset) creation time.
    pub created_s: i64,
    pub kind: String,
    pub status: LoraStatus,
    pub exec_s: f64,
    pub group: String,
    pub prompt_length: Option<f64>,
    pub negative_prompt_length: Option<f64>,
    pub images: Option<f64>,
    pub steps: Option<f64>,
    pub model: String,
    pub loras: u32,
}

/// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM:SS` as seconds since 1970 (years 1900 to 2200).
pub fn parse_datetime(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "`{}` is not a date-time YYYY-MM-DD HH:MM:SS",
            excerpt(text, 40)
        )
    };
    let (date, clock) = text.split_once(' ').ok_or_else(bad)?;
    let parts = |s: &str, sep: char| -> Result<Vec<i64>, String> {
        s.split(sep)
            .map(|p| p.parse::<i64>().map_err(|_| bad()))
            .collect()
    };
    let (d, c) = (parts(date, '-')?, parts(clock, ':')?);
    let (&[year, month, day], &[hour, minute, second]) = (&d[..], &c[..]) else {
        return Err(bad());
    };
    let days_in_month = match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1900..=2200).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=days_in_month).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..60).contains(&second)
    {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn count(value: &str, column: &str) -> Result<Option<f64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(v) if (0.0..=MAX_COUNT).contains(&v) => Ok(Some(v)),
        _ => Err(format!(
            "{column} = `{}` is not a number in [0, {MAX_COUNT}] (or empty)",
            excerpt(value, 40)
        )),
    }
}

pub fn read_lora_requests(reader: impl Read, source: &str) -> Result<Vec<LoraRequest>, EnvError> {
    let columns = [
        "gmt_create",
        "predict_type",
        "predict_status",
        "exec_time_seconds",
        "groupId",
        "prompt_length",
        "negative_prompt_length",
        "num_images_per_prompt",
        "num_inference_steps",
        "checkpoint_model_version_id",
        "num_lora",
    ];
    read_rows(reader, source, &columns, |f, _| {
        let status = match f[2] {
            "SUCCEED" => LoraStatus::Succeeded,
            "FAILED" => LoraStatus::Failed,
            "PENDING" | "PROCESSING" => LoraStatus::Unfinished,
            other => {
                return Err(format!(
                    "predict_status = `{}`: expected SUCCEED, FAILED, PENDING or PROCESSING",
                    excerpt(other, 40)
                ));
            }
        };
        let exec_s = f[3]
            .parse::<f64>()
            .ok()
            .filter(|v| (0.0..=MAX_EXEC_S).contains(v))
            .ok_or_else(|| {
                format!(
                    "exec_time_seconds = `{}` is not a number of seconds in [0, {MAX_EXEC_S}]",
                    excerpt(f[3], 40)
                )
            })?;
        let loras: u32 = number(f[10], "num_lora")?;
        if f64::from(loras) > MAX_COUNT {
            return Err(format!("num_lora = {loras}: at most {MAX_COUNT}"));
        }
        Ok(LoraRequest {
            created_s: parse_datetime(f[0]).map_err(|e| format!("gmt_create = {e}"))?,
            kind: f[1].to_string(),
            status,
            exec_s,
            group: f[4].to_string(),
            prompt_length: count(f[5], "prompt_length")?,
            negative_prompt_length: count(f[6], "negative_prompt_length")?,
            images: count(f[7], "num_images_per_prompt")?,
            steps: count(f[8], "num_inference_steps")?,
            model: f[9].to_string(),
            loras,
        })
    })
}

/// The shipped copy (`env/data/alibaba_v2026_lora_request_trace_2024-11-15_to_11-30.csv.gz`).
pub const BUILTIN_NAME: &str =
    "builtin:alibaba_v2026_lora_request_trace_2024-11-15_to_11-30.csv.gz";
const BUILTIN: &[u8] =
    include_bytes!("../../data/alibaba_v2026_lora_request_trace_2024-11-15_to_11-30.csv.gz");

/// The shipped copy, read.
pub fn builtin() -> Result<Vec<LoraRequest>, EnvError> {
    read_lora_requests(crate::input::from_bytes(BUILTIN)?, BUILTIN_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "gmt_create,predict_type,predict_status,exec_time_seconds,groupId,prompt_length,negative_prompt_length,num_images_per_prompt,num_inference_steps,checkpoint_model_version_id,num_lora\n";

    #[test]
    fn dates_are_seconds_since_1970() {
        assert_eq!(parse_datetime("1970-01-01 00:00:00"), Ok(0));
        assert_eq!(parse_datetime("2024-11-15 16:57:50"), Ok(1_731_689_870));
        assert_eq!(parse_datetime("2000-03-01 00:00:01"), Ok(951_868_801));
        for bad in [
            "2024-02-30 00:00:00",
            "2023-02-29 01:00:00",
            "2024-11-15",
            "x 1:2:3",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
        assert!(parse_datetime("2024-02-29 23:59:59").is_ok());
    }

    #[test]
    fn reads_requests_and_names_bad_lines() {
        let text = format!(
            "{HEADER}2024-11-15 16:57:50,TXT_2_IMG,SUCCEED,32.0,G0000,63.0,26.0,1.0,30.0,M0000,0\n2024-11-17 04:44:00,TXT_2_IMG,FAILED,3.0,G0019,,,,,,1\n"
        );
        let requests = read_lora_requests(text.as_bytes(), "lora.csv").unwrap();
        assert_eq!(requests[0].created_s, 1_731_689_870);
        assert_eq!(requests[1].status, LoraStatus::Failed);
        assert_eq!((requests[1].prompt_length, requests[1].loras), (None, 1));
        for (row, expected) in [
            (
                "2024-11-15 16:57:50,T,LOST,1,G,1,1,1,1,M,0",
                "line 2: predict_status",
            ),
            (
                "2024-11-15 16:57:50,T,FAILED,-1,G,1,1,1,1,M,0",
                "line 2: exec_time_seconds",
            ),
            (
                "2024-13-15 16:57:50,T,FAILED,1,G,1,1,1,1,M,0",
                "line 2: gmt_create",
            ),
            (
                "2024-11-15 16:57:50,T,FAILED,1,G,1e9,1,1,1,M,0",
                "line 2: prompt_length",
            ),
        ] {
            let text = format!("{HEADER}{row}\n");
            let e = read_lora_requests(text.as_bytes(), "lora.csv")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{e}");
        }
    }

    #[test]
    fn the_shipped_copy_holds_every_request_in_time_order() {
        let requests = builtin().unwrap();
        assert_eq!(requests.len(), 14_279);
        let failed = requests
            .iter()
            .filter(|r| r.status == LoraStatus::Failed)
            .count();
        assert_eq!(failed, 233);
        assert!(
            requests
                .windows(2)
                .all(|w| w[0].created_s <= w[1].created_s)
        );
    }
}
