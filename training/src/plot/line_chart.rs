//! Line charts: axes fitted to the data (not forced through 0) with round tick values; every
//! series gets its own colour and line style, and may carry a confidence band; the legend is as
//! wide as the longest name, so no name is cut.

use super::axis::{Axis, Frame, finite_range};
use super::drawing::{Anchor, CHAR_WIDTH, DASHES, Drawing, PALETTE, Shape};
use crate::error::{Result, TrainingError};
use planetgym_env::scene::Marker;
use std::path::Path;

/// The plot area of a chart on its own, in pixels.
pub const PLOT_SIZE: (i32, i32) = (560, 400);
pub const LEFT: i32 = 80;
pub const TOP: i32 = 40;
pub const BOTTOM: i32 = 50;
/// Pixels per legend entry.
const LEGEND_ROW: i32 = 16;
/// Half the width of an order marker.
const MARKER: f64 = 5.0;

/// One named line, with an optional confidence band.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    /// (x, y), x ascending.
    pub points: Vec<(f64, f64)>,
    /// (x, low, high), x ascending: drawn as a shaded band under the line.
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            band: Vec::new(),
        }
    }

    pub fn with_band(mut self, band: Vec<(f64, f64, f64)>) -> Self {
        self.band = band;
        self
    }
}

/// Draws `series` and writes `path` (PNG) and the same chart as SVG beside it.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    chart(title, x_label, y_label, series, &[], PLOT_SIZE)
        .write(path)
        .map_err(|e| TrainingError::report(format!("could not write {}", path.display()), &e))
}

/// The chart of `series` with `markers` on them, its plot area `plot` pixels wide and high.
pub fn chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    markers: &[Marker],
    plot: (i32, i32),
) -> Drawing {
    let (plot_width, plot_height) = plot;
    let xs = series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.0)
            .chain(s.band.iter().map(|b| b.0))
    });
    let ys = series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let (x_min, x_max) = finite_range(xs);
    let (y_min, y_max) = finite_range(ys);
    let (x_axis, y_axis) = (Axis::fit(x_min, x_max), Axis::fit(y_min, y_max));
    let longest = series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let legend = 50 + CHAR_WIDTH * longest as i32;
    let width = (LEFT + plot_width + legend).max(CHAR_WIDTH * title.len() as i32 + 40);
    let height = (TOP + plot_height + BOTTOM).max(TOP + LEGEND_ROW * (series.len() as i32 + 1));
    let frame = Frame {
        x: x_axis,
        y: y_axis,
        origin: (LEFT, TOP),
        size: plot,
    };
    let pixel = |x, y| frame.pixel(x, y);
    let mut shapes = frame.shapes(x_label, y_label);
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let finite: Vec<&(f64, f64, f64)> = s
            .band
            .iter()
            .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
            .collect();
        if finite.len() >= 2 {
            shapes.push(Shape::Band {
                upper: finite.iter().map(|b| pixel(b.0, b.2)).collect(),
                lower: finite.iter().map(|b| pixel(b.0, b.1)).collect(),
                colour,
            });
        }
    }
    for (i, s) in series.iter().enumerate() {
        let (colour, dash) = (PALETTE[i % PALETTE.len()], DASHES[i % DASHES.len()]);
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|p| pixel(p.0, p.1))
            .collect();
        shapes.push(Shape::Polyline {
            points,
            colour,
            width: 2,
            dash,
        });
        let y = TOP + 10 + LEGEND_ROW * i as i32;
        let x = LEFT + plot_width + 15;
        shapes.push(Shape::Polyline {
            points: vec![
                (f64::from(x), f64::from(y - 3)),
                (f64::from(x + 28), f64::from(y - 3)),
            ],
            colour,
            width: 2,
            dash,
        });
        shapes.push(Shape::text((x + 34, y), s.name.clone(), Anchor::Start));
    }
    for m in markers
        .iter()
        .filter(|m| m.x.is_finite() && m.y.is_finite())
    {
        let (x, y) = pixel(m.x, m.y);
        // The tip at the point, the base a marker's height below (up) or above (down).
        let base = if m.up {
            y + 2.0 * MARKER
        } else {
            y - 2.0 * MARKER
        };
        shapes.push(Shape::Triangle {
            corners: [(x, y), (x - MARKER, base), (x + MARKER, base)],
            fill: PALETTE[m.series % PALETTE.len()],
        });
    }
    shapes.push(Shape::text((width / 2, 20), title, Anchor::Middle));
    Drawing {
        shapes,
        width: width as u32,
        height: height as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height, buf)
    }

    #[test]
    fn writes_png_and_svg_with_every_line_in_its_colour_and_style() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let long = "a series name far longer than any fixed legend would hold".to_string();
        let series = vec![
            Series::line("a", vec![(0.0, -15_000.0), (1.0, -14_000.0)]).with_band(vec![
                (0.0, -15_500.0, -14_500.0),
                (1.0, -14_500.0, -13_500.0),
            ]),
            Series::line(long.clone(), vec![(0.0, -14_000.0), (1.0, -15_000.0)]),
        ];
        line_chart(&path, "title", "x", "y", &series).unwrap();
        let (width, height, pixels) = read_png(&path);
        assert!(width as i32 >= LEFT + PLOT_SIZE.0 + CHAR_WIDTH * long.len() as i32);
        assert!(height as i32 >= TOP + PLOT_SIZE.1);
        let count = |c: (u8, u8, u8)| pixels.chunks(3).filter(|p| p == &[c.0, c.1, c.2]).count();
        assert!(
            count(PALETTE[0]) > 300 && count(PALETTE[1]) > 100,
            "both lines drawn"
        );
        // The band: pixels tinted with the first colour, neither white nor the line's.
        let tinted = pixels
            .chunks(3)
            .filter(|p| p[2] > p[0] && p != &[255, 255, 255] && p != &[31, 119, 180])
            .count();
        assert!(tinted > 1000, "band drawn ({tinted} pixels)");
        let svg = std::fs::read_to_string(path.with_extension("svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(&long), "legend names are whole");
        assert!(svg.contains("stroke-dasharray=\"8,4\"") && svg.contains("<polygon"));
        // Axes fitted to the data, with round ticks: -15.5k .. -13.5k, not through 0.
        // (y tick labels are the right-anchored texts)
        assert!(
            svg.contains(">-15.5k<") && !svg.contains("text-anchor=\"end\">0<"),
            "{svg}"
        );
    }
}
