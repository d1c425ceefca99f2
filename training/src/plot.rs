//! Line charts, written twice from one drawing: a PNG (embedded-graphics' built-in bitmap font,
//! no system fonts or libraries needed, encoded by the `png` crate) and an SVG beside it.
//!
//! Axes are fitted to the data (not forced through 0) with round tick values; every series gets
//! its own colour and line style, and may carry a confidence band; the legend is as wide as the
//! longest name, so no name is cut.

use crate::error::{Result, TrainingError};
use embedded_graphics::mono_font::{MonoTextStyle, ascii::FONT_6X10};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle};
use embedded_graphics::text::{Alignment, Text};
use std::fmt::Write as _;
use std::path::Path;

const PLOT_WIDTH: i32 = 560;
const PLOT_HEIGHT: i32 = 400;
const LEFT: i32 = 80;
const TOP: i32 = 40;
const BOTTOM: i32 = 50;
/// Pixels per character of the font, and per legend entry.
const CHAR_WIDTH: i32 = 6;
const LEGEND_ROW: i32 = 16;
/// Opacity of a confidence band over white.
const BAND_ALPHA: f64 = 0.2;

/// Tableau's ten colours: distinct for the usual number of series.
const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];
/// Dash patterns (on, off, ...) in pixels: solid, dashed, dotted, dash-dot; series `i` takes
/// colour `i % 10` and pattern `i % 4`, so neighbours differ in both.
const DASHES: [&[i32]; 4] = [&[], &[8, 4], &[2, 3], &[8, 3, 2, 3]];

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

/// An axis fitted to values: round ticks every `step` from `lo` to `hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    /// About five round steps (1, 2 or 5 times a power of ten) covering `min..=max`.
    fn fit(min: f64, max: f64) -> Self {
        let (min, max) = if !min.is_finite() || !max.is_finite() {
            (0.0, 1.0)
        } else if max - min <= f64::EPSILON * max.abs().max(1.0) {
            let pad = (min.abs() * 0.1).max(1.0);
            (min - pad, max + pad)
        } else {
            (min, max)
        };
        let raw = (max - min) / 5.0;
        let power = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * power)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * power);
        Self {
            lo: (min / step).floor() * step,
            hi: (max / step).ceil() * step,
            step,
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round() as i64;
        (0..=n).map(|k| self.lo + k as f64 * self.step).collect()
    }

    /// `v` with as many decimals as the step needs, in thousands (k) or millions (M) when the
    /// ticks are that large.
    fn label(&self, v: f64) -> String {
        let big = self.lo.abs().max(self.hi.abs());
        let (scale, suffix) = if big >= 1e7 {
            (1e6, "M")
        } else if big >= 1e4 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        let decimals = (-(self.step / scale).log10().floor()).clamp(0.0, 6.0) as usize;
        if v.abs() < self.step * 1e-9 {
            return "0".into();
        }
        format!("{:.*}{suffix}", decimals, v / scale)
    }

    /// Where `v` falls between 0 and `length` pixels.
    fn position(&self, v: f64, length: i32) -> f64 {
        (v - self.lo) / (self.hi - self.lo) * f64::from(length)
    }
}

/// The smallest and largest finite value (infinities when there is none).
fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// What a chart is made of, in pixels, before it is rendered as PNG or SVG.
#[derive(Debug, Clone)]
enum Shape {
    Polyline {
        points: Vec<(f64, f64)>,
        colour: (u8, u8, u8),
        width: u32,
        dash: &'static [i32],
    },
    /// Filled between two curves sharing their x values (pixels, ascending).
    Band {
        upper: Vec<(f64, f64)>,
        lower: Vec<(f64, f64)>,
        colour: (u8, u8, u8),
    },
    Text {
        at: (i32, i32),
        text: String,
        anchor: Anchor,
    },
}

const GRID: (u8, u8, u8) = (225, 225, 225);
const BLACK: (u8, u8, u8) = (0, 0, 0);

/// Draws `series` and writes `path` (PNG) and the same chart as SVG beside it.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let (shapes, width, height) = layout(title, x_label, y_label, series);
    let failed = |e: &dyn std::fmt::Display| {
        TrainingError::report(format!("could not write {}", path.display()), e)
    };
    write_png(path, &shapes, width, height).map_err(|e| failed(&e))?;
    let svg = path.with_extension("svg");
    std::fs::write(&svg, render_svg(&shapes, width, height)).map_err(|e| failed(&e))
}

fn layout(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> (Vec<Shape>, u32, u32) {
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
    let width = (LEFT + PLOT_WIDTH + legend).max(CHAR_WIDTH * title.len() as i32 + 40);
    let height = (TOP + PLOT_HEIGHT + BOTTOM).max(TOP + LEGEND_ROW * (series.len() as i32 + 1));
    let to_px = |x: f64, y: f64| {
        (
            f64::from(LEFT) + x_axis.position(x, PLOT_WIDTH),
            f64::from(TOP + PLOT_HEIGHT) - y_axis.position(y, PLOT_HEIGHT),
        )
    };
    let mut shapes = Vec::new();
    let line = |a: (f64, f64), b: (f64, f64), colour| Shape::Polyline {
        points: vec![a, b],
        colour,
        width: 1,
        dash: DASHES[0],
    };
    let (left, right) = (f64::from(LEFT), f64::from(LEFT + PLOT_WIDTH));
    let (top, bottom) = (f64::from(TOP), f64::from(TOP + PLOT_HEIGHT));
    for x in x_axis.ticks() {
        let (px, _) = to_px(x, y_axis.lo);
        shapes.push(line((px, top), (px, bottom), GRID));
        shapes.push(Shape::Text {
            at: (px as i32, TOP + PLOT_HEIGHT + 14),
            text: x_axis.label(x),
            anchor: Anchor::Middle,
        });
    }
    for y in y_axis.ticks() {
        let (_, py) = to_px(x_axis.lo, y);
        shapes.push(line((left, py), (right, py), GRID));
        shapes.push(Shape::Text {
            at: (LEFT - 6, py as i32 + 3),
            text: y_axis.label(y),
            anchor: Anchor::End,
        });
    }
    shapes.push(line((left, top), (left, bottom), BLACK));
    shapes.push(line((left, bottom), (right, bottom), BLACK));
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let finite: Vec<&(f64, f64, f64)> = s
            .band
            .iter()
            .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
            .collect();
        if finite.len() >= 2 {
            shapes.push(Shape::Band {
                upper: finite.iter().map(|b| to_px(b.0, b.2)).collect(),
                lower: finite.iter().map(|b| to_px(b.0, b.1)).collect(),
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
            .map(|p| to_px(p.0, p.1))
            .collect();
        shapes.push(Shape::Polyline {
            points,
            colour,
            width: 2,
            dash,
        });
        let y = TOP + 10 + LEGEND_ROW * i as i32;
        let x = LEFT + PLOT_WIDTH + 15;
        shapes.push(Shape::Polyline {
            points: vec![
                (f64::from(x), f64::from(y - 3)),
                (f64::from(x + 28), f64::from(y - 3)),
            ],
            colour,
            width: 2,
            dash,
        });
        shapes.push(Shape::Text {
            at: (x + 34, y),
            text: s.name.clone(),
            anchor: Anchor::Start,
        });
    }
    let texts = [
        (title, (width / 2, 20), Anchor::Middle),
        (
            x_label,
            (LEFT + PLOT_WIDTH / 2, TOP + PLOT_HEIGHT + 36),
            Anchor::Middle,
        ),
        (y_label, (8, TOP - 10), Anchor::Start),
    ];
    for (text, at, anchor) in texts {
        shapes.push(Shape::Text {
            at,
            text: text.to_string(),
            anchor,
        });
    }
    (shapes, width as u32, height as u32)
}

/// An RGB image embedded-graphics can draw on.
struct Canvas {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = std::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height {
                let i = 3 * (p.y as usize * self.width as usize + p.x as usize);
                self.pixels[i..i + 3].copy_from_slice(&[c.r(), c.g(), c.b()]);
            }
        }
        Ok(())
    }
}

impl Canvas {
    /// Mixes `colour` into pixel (x, y) with opacity `alpha`.
    fn blend(&mut self, x: i32, y: i32, colour: (u8, u8, u8), alpha: f64) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return;
        }
        let i = 3 * (y as usize * self.width as usize + x as usize);
        for (k, c) in [colour.0, colour.1, colour.2].into_iter().enumerate() {
            let old = f64::from(self.pixels[i + k]);
            self.pixels[i + k] = (old + alpha * (f64::from(c) - old)).round() as u8;
        }
    }
}

/// The pieces of a polyline its dash pattern draws (all of it when solid).
fn dashed(points: &[(f64, f64)], dash: &[i32]) -> Vec<((f64, f64), (f64, f64))> {
    let segments = points.windows(2).map(|w| (w[0], w[1]));
    if dash.is_empty() {
        return segments.collect();
    }
    let period: i32 = dash.iter().sum();
    let mut pieces = Vec::new();
    let mut along = 0.0f64;
    for (a, b) in segments {
        let length = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let mut done = 0.0;
        while done < length {
            // Where in the pattern this point is, and how far its current part reaches.
            let mut phase = (along + done) % f64::from(period);
            let mut on = true;
            let mut part_end = 0.0;
            for (k, &d) in dash.iter().enumerate() {
                if phase < f64::from(d) {
                    on = k % 2 == 0;
                    part_end = f64::from(d) - phase;
                    break;
                }
                phase -= f64::from(d);
            }
            let step = part_end.max(0.5).min(length - done);
            if on {
                let at = |t: f64| {
                    (
                        a.0 + (b.0 - a.0) * t / length,
                        a.1 + (b.1 - a.1) * t / length,
                    )
                };
                pieces.push((at(done), at(done + step)));
            }
            done += step;
        }
        along += length;
    }
    pieces
}

fn write_png(path: &Path, shapes: &[Shape], width: u32, height: u32) -> std::io::Result<()> {
    let mut canvas = Canvas {
        pixels: vec![255; (3 * width * height) as usize],
        width,
        height,
    };
    let rgb = |c: (u8, u8, u8)| Rgb888::new(c.0, c.1, c.2);
    let font = MonoTextStyle::new(&FONT_6X10, Rgb888::BLACK);
    for shape in shapes {
        match shape {
            Shape::Polyline {
                points,
                colour,
                width,
                dash,
            } => {
                let style = PrimitiveStyle::with_stroke(rgb(*colour), *width);
                for (a, b) in dashed(points, dash) {
                    let p = |q: (f64, f64)| Point::new(q.0.round() as i32, q.1.round() as i32);
                    let _ = Line::new(p(a), p(b)).into_styled(style).draw(&mut canvas);
                }
            }
            Shape::Band {
                upper,
                lower,
                colour,
            } => {
                for (u, l) in upper.windows(2).zip(lower.windows(2)) {
                    let (x0, x1) = (u[0].0.round() as i32, u[1].0.round() as i32);
                    for x in x0..x1.max(x0 + 1) {
                        let t = if x1 > x0 {
                            f64::from(x - x0) / f64::from(x1 - x0)
                        } else {
                            0.0
                        };
                        let top = u[0].1 + (u[1].1 - u[0].1) * t;
                        let bottom = l[0].1 + (l[1].1 - l[0].1) * t;
                        for y in top.round() as i32..=bottom.round() as i32 {
                            canvas.blend(x, y, *colour, BAND_ALPHA);
                        }
                    }
                }
            }
            Shape::Text { at, text, anchor } => {
                let alignment = match anchor {
                    Anchor::Start => Alignment::Left,
                    Anchor::Middle => Alignment::Center,
                    Anchor::End => Alignment::Right,
                };
                let _ = Text::with_alignment(text, Point::new(at.0, at.1), font, alignment)
                    .draw(&mut canvas);
            }
        }
    }
    let file = std::fs::File::create(path)?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(&canvas.pixels)
        .map_err(std::io::Error::other)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render_svg(shapes: &[Shape], width: u32, height: u32) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"10\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let colour = |c: &(u8, u8, u8)| format!("rgb({},{},{})", c.0, c.1, c.2);
    let coords = |points: &mut dyn Iterator<Item = &(f64, f64)>| {
        points
            .map(|p| format!("{:.1},{:.1}", p.0, p.1))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for shape in shapes {
        let _ = match shape {
            Shape::Polyline {
                points,
                colour: c,
                width,
                dash,
            } => {
                let dasharray = if dash.is_empty() {
                    String::new()
                } else {
                    let pattern: Vec<String> = dash.iter().map(i32::to_string).collect();
                    format!(" stroke-dasharray=\"{}\"", pattern.join(","))
                };
                writeln!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\"{dasharray}/>",
                    coords(&mut points.iter()),
                    colour(c)
                )
            }
            Shape::Band {
                upper,
                lower,
                colour: c,
            } => writeln!(
                out,
                "<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"{BAND_ALPHA}\" stroke=\"none\"/>",
                coords(&mut upper.iter().chain(lower.iter().rev())),
                colour(c)
            ),
            Shape::Text { at, text, anchor } => {
                let anchor = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                    at.0,
                    at.1,
                    escape(text)
                )
            }
        };
    }
    out.push_str("</svg>\n");
    out
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
        assert!(width as i32 >= LEFT + PLOT_WIDTH + CHAR_WIDTH * long.len() as i32);
        assert!(height as i32 >= TOP + PLOT_HEIGHT);
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

    #[test]
    fn axes_are_fitted_with_round_steps() {
        let axis = Axis::fit(0.0, 800_768.0);
        assert_eq!((axis.lo, axis.hi, axis.step), (0.0, 1_000_000.0, 200_000.0));
        assert_eq!(axis.label(400_000.0), "400k");
        assert_eq!(axis.label(0.0), "0");
        let axis = Axis::fit(-15_413.0, -13_578.0);
        assert_eq!(axis.step, 500.0);
        assert_eq!((axis.lo, axis.hi), (-15_500.0, -13_500.0));
        assert_eq!(axis.label(-14_500.0), "-14.5k");
        let axis = Axis::fit(0.2, 0.37);
        assert_eq!(axis.step, 0.05);
        assert_eq!(axis.label(0.25), "0.25");
        let flat = Axis::fit(3.0, 3.0);
        assert!(flat.lo < 3.0 && flat.hi > 3.0);
        let empty = Axis::fit(f64::INFINITY, f64::NEG_INFINITY);
        assert_eq!((empty.lo, empty.hi), (0.0, 1.0));
    }

    #[test]
    fn dashes_leave_gaps_and_solid_lines_none() {
        let line = [(0.0, 0.0), (24.0, 0.0)];
        assert_eq!(dashed(&line, &[]).len(), 1);
        let pieces = dashed(&line, &[8, 4]);
        let drawn: f64 = pieces.iter().map(|(a, b)| b.0 - a.0).sum();
        assert!((drawn - 16.0).abs() < 1e-9, "{pieces:?}");
    }
}
