//! `planetgym render` draws every registered scenario: pictures of the expected size that are
//! not blank, every N steps and at the end, as PNG and SVG.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::registry::SCENARIOS;
use std::collections::HashSet;
use std::path::Path;

mod common;
use common::planetgym;

/// (width, height, RGB pixels) of a PNG.
fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

#[test]
fn every_scenario_renders_pictures_that_show_something() {
    let dir = tempfile::tempdir().unwrap();
    for s in SCENARIOS {
        let out = dir.path().join(s.name);
        let out_arg = out.to_str().unwrap();
        let (ok, stdout, err) = planetgym(&[
            "render",
            "--scenario",
            s.name,
            "--steps",
            "40",
            "--every",
            "20",
            "--out",
            out_arg,
        ]);
        assert!(ok, "{}: {err}", s.name);
        assert!(stdout.contains("40 steps"), "{}: {stdout}", s.name);
        for picture in ["step-000020.png", "final.png"] {
            let (width, height, pixels) = read_png(&out.join(picture));
            assert!(
                (600..4000).contains(&width) && (300..3000).contains(&height),
                "{} {picture}: {width} x {height}",
                s.name
            );
            let drawn = pixels.chunks(3).filter(|p| p != &[255, 255, 255]).count();
            let colours: HashSet<&[u8]> = pixels.chunks(3).collect();
            assert!(
                drawn as f64 > 0.01 * f64::from(width * height) && colours.len() >= 5,
                "{} {picture}: {drawn} pixels drawn in {} colours",
                s.name,
                colours.len()
            );
        }
        let svg = std::fs::read_to_string(out.join("final.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(
            !out.join("step-000040.png").exists(),
            "the last step is final.png"
        );
    }
}

#[test]
fn render_refuses_bad_arguments_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (ok, _, err) = planetgym(&[
        "render",
        "--scenario",
        "batch",
        "--every",
        "0",
        "--out",
        out,
    ]);
    assert!(!ok && err.contains("--every"), "{err}");
    let (ok, _, err) = planetgym(&[
        "render",
        "--scenario",
        "batch",
        "--policy",
        "no-such-policy",
        "--out",
        out,
    ]);
    assert!(
        !ok && err.contains("no-such-policy") && err.contains("sjf"),
        "{err}"
    );
    let (ok, _, err) = planetgym(&["render", "--out", out]);
    assert!(!ok && err.contains("--scenario is required"), "{err}");
}
