//! A drawing as a list of shapes in pixels, rendered two ways: into RGB pixels (for PNG files
//! and gymnasium's `rgb_array`) with embedded-graphics' built-in bitmap font, so no system fonts
//! or libraries are needed, and as SVG.

use embedded_graphics::mono_font::{MonoTextStyle, ascii::FONT_6X10};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle, Triangle};
use embedded_graphics::text::{Alignment, Text};
use std::fmt::Write as _;
use std::path::Path;

pub type Colour = (u8, u8, u8);

/// Pixels per character of the font.
pub const CHAR_WIDTH: i32 = 6;
/// Opacity of a confidence band over white.
pub const BAND_ALPHA: f64 = 0.2;
pub const BLACK: Colour = (0, 0, 0);
pub const GRID: Colour = (225, 225, 225);

/// Tableau's ten colours: distinct for the usual number of series.
pub const PALETTE: [Colour; 10] = [
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
pub const DASHES: [&[i32]; 4] = [&[], &[8, 4], &[2, 3], &[8, 3, 2, 3]];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// What a drawing is made of, in pixels.
#[derive(Debug, Clone)]
pub enum Shape {
    Polyline {
        points: Vec<(f64, f64)>,
        colour: Colour,
        width: u32,
        dash: &'static [i32],
    },
    /// Filled between two curves sharing their x values (pixels, ascending).
    Band {
        upper: Vec<(f64, f64)>,
        lower: Vec<(f64, f64)>,
        colour: Colour,
    },
    Text {
        at: (i32, i32),
        text: String,
        anchor: Anchor,
    },
    /// A filled rectangle (x, y, width, height).
    Rect {
        at: (f64, f64, f64, f64),
        fill: Colour,
        alpha: f64,
    },
    Circle {
        centre: (f64, f64),
        radius: f64,
        fill: Colour,
        alpha: f64,
    },
    Triangle {
        corners: [(f64, f64); 3],
        fill: Colour,
    },
}

impl Shape {
    /// A straight solid line.
    pub fn line(a: (f64, f64), b: (f64, f64), colour: Colour, width: u32) -> Self {
        Self::Polyline {
            points: vec![a, b],
            colour,
            width,
            dash: DASHES[0],
        }
    }

    pub fn text(at: (i32, i32), text: impl Into<String>, anchor: Anchor) -> Self {
        Self::Text {
            at,
            text: text.into(),
            anchor,
        }
    }

    fn moved(self, dx: f64, dy: f64) -> Self {
        let shift = |p: (f64, f64)| (p.0 + dx, p.1 + dy);
        let shift_all = |v: Vec<(f64, f64)>| v.into_iter().map(shift).collect();
        match self {
            Self::Polyline {
                points,
                colour,
                width,
                dash,
            } => Self::Polyline {
                points: shift_all(points),
                colour,
                width,
                dash,
            },
            Self::Band {
                upper,
                lower,
                colour,
            } => Self::Band {
                upper: shift_all(upper),
                lower: shift_all(lower),
                colour,
            },
            Self::Text { at, text, anchor } => Self::Text {
                at: (at.0 + dx as i32, at.1 + dy as i32),
                text,
                anchor,
            },
            Self::Rect { at, fill, alpha } => Self::Rect {
                at: (at.0 + dx, at.1 + dy, at.2, at.3),
                fill,
                alpha,
            },
            Self::Circle {
                centre,
                radius,
                fill,
                alpha,
            } => Self::Circle {
                centre: shift(centre),
                radius,
                fill,
                alpha,
            },
            Self::Triangle { corners, fill } => Self::Triangle {
                corners: corners.map(shift),
                fill,
            },
        }
    }
}

/// Shapes on a white page of `width x height` pixels.
#[derive(Debug, Clone, Default)]
pub struct Drawing {
    pub shapes: Vec<Shape>,
    pub width: u32,
    pub height: u32,
}

impl Drawing {
    /// Adds `other`'s shapes with its top-left corner at (`x`, `y`), growing the page to hold it.
    pub fn place(&mut self, other: Drawing, x: u32, y: u32) {
        let (dx, dy) = (f64::from(x), f64::from(y));
        self.shapes
            .extend(other.shapes.into_iter().map(|s| s.moved(dx, dy)));
        self.width = self.width.max(x + other.width);
        self.height = self.height.max(y + other.height);
    }

    /// Writes `path` (PNG) and the same drawing as SVG beside it.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        self.write_png(path)?;
        std::fs::write(path.with_extension("svg"), self.svg())
    }

    pub fn write_png(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&self.rgb())
            .map_err(std::io::Error::other)
    }

    /// The pixels, row by row, 3 bytes (R, G, B) each.
    pub fn rgb(&self) -> Vec<u8> {
        let mut canvas = Canvas {
            pixels: vec![255; 3 * self.width as usize * self.height as usize],
            width: self.width,
            height: self.height,
        };
        for shape in &self.shapes {
            canvas.draw_shape(shape);
        }
        canvas.pixels
    }

    pub fn svg(&self) -> String {
        let (width, height) = (self.width, self.height);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"10\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        for shape in &self.shapes {
            svg_shape(&mut out, shape);
        }
        out.push_str("</svg>\n");
        out
    }
}

fn rgb888(c: Colour) -> Rgb888 {
    Rgb888::new(c.0, c.1, c.2)
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
            self.blend(p.x, p.y, (c.r(), c.g(), c.b()), 1.0);
        }
        Ok(())
    }
}

impl Canvas {
    /// Mixes `colour` into pixel (x, y) with opacity `alpha`.
    fn blend(&mut self, x: i32, y: i32, colour: Colour, alpha: f64) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return;
        }
        let i = 3 * (y as usize * self.width as usize + x as usize);
        for (k, c) in [colour.0, colour.1, colour.2].into_iter().enumerate() {
            let old = f64::from(self.pixels[i + k]);
            self.pixels[i + k] = (old + alpha * (f64::from(c) - old)).round() as u8;
        }
    }

    fn draw_shape(&mut self, shape: &Shape) {
        let point = |q: (f64, f64)| Point::new(q.0.round() as i32, q.1.round() as i32);
        match shape {
            Shape::Polyline {
                points,
                colour,
                width,
                dash,
            } => {
                let style = PrimitiveStyle::with_stroke(rgb888(*colour), *width);
                for (a, b) in dashed(points, dash) {
                    let _ = Line::new(point(a), point(b)).into_styled(style).draw(self);
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
                            self.blend(x, y, *colour, BAND_ALPHA);
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
                let font = MonoTextStyle::new(&FONT_6X10, Rgb888::BLACK);
                let _ =
                    Text::with_alignment(text, Point::new(at.0, at.1), font, alignment).draw(self);
            }
            Shape::Rect { at, fill, alpha } => {
                let (x0, y0) = (at.0.round() as i32, at.1.round() as i32);
                // At least one pixel, so that thin cells of a dense grid still show.
                let x1 = (at.0 + at.2).round().max(f64::from(x0 + 1)) as i32;
                let y1 = (at.1 + at.3).round().max(f64::from(y0 + 1)) as i32;
                for y in y0.max(0)..y1.min(self.height as i32) {
                    for x in x0.max(0)..x1.min(self.width as i32) {
                        self.blend(x, y, *fill, *alpha);
                    }
                }
            }
            Shape::Circle {
                centre,
                radius,
                fill,
                alpha,
            } => {
                let r = radius.ceil() as i32;
                let (cx, cy) = (centre.0.round() as i32, centre.1.round() as i32);
                for y in cy - r..=cy + r {
                    for x in cx - r..=cx + r {
                        let d = f64::from((x - cx).pow(2) + (y - cy).pow(2)).sqrt();
                        if d <= *radius {
                            self.blend(x, y, *fill, *alpha);
                        }
                    }
                }
            }
            Shape::Triangle { corners, fill } => {
                let [a, b, c] = corners.map(point);
                let _ = Triangle::new(a, b, c)
                    .into_styled(PrimitiveStyle::with_fill(rgb888(*fill)))
                    .draw(self);
            }
        }
    }
}

/// The pieces of a polyline its dash pattern draws (all of it when solid).
pub fn dashed(points: &[(f64, f64)], dash: &[i32]) -> Vec<((f64, f64), (f64, f64))> {
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

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn svg_colour(c: &Colour) -> String {
    format!("rgb({},{},{})", c.0, c.1, c.2)
}

fn svg_points(points: &mut dyn Iterator<Item = &(f64, f64)>) -> String {
    points
        .map(|p| format!("{:.1},{:.1}", p.0, p.1))
        .collect::<Vec<_>>()
        .join(" ")
}

fn svg_shape(out: &mut String, shape: &Shape) {
    let _ = match shape {
        Shape::Polyline {
            points,
            colour,
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
                svg_points(&mut points.iter()),
                svg_colour(colour)
            )
        }
        Shape::Band {
            upper,
            lower,
            colour,
        } => writeln!(
            out,
            "<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"{BAND_ALPHA}\" stroke=\"none\"/>",
            svg_points(&mut upper.iter().chain(lower.iter().rev())),
            svg_colour(colour)
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
        Shape::Rect { at, fill, alpha } => writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"{alpha}\"/>",
            at.0,
            at.1,
            at.2.max(1.0),
            at.3.max(1.0),
            svg_colour(fill)
        ),
        Shape::Circle {
            centre,
            radius,
            fill,
            alpha,
        } => writeln!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius:.1}\" fill=\"{}\" fill-opacity=\"{alpha}\"/>",
            centre.0,
            centre.1,
            svg_colour(fill)
        ),
        Shape::Triangle { corners, fill } => writeln!(
            out,
            "<polygon points=\"{}\" fill=\"{}\"/>",
            svg_points(&mut corners.iter()),
            svg_colour(fill)
        ),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_leave_gaps_and_solid_lines_none() {
        let line = [(0.0, 0.0), (24.0, 0.0)];
        assert_eq!(dashed(&line, &[]).len(), 1);
        let pieces = dashed(&line, &[8, 4]);
        let drawn: f64 = pieces.iter().map(|(a, b)| b.0 - a.0).sum();
        assert!((drawn - 16.0).abs() < 1e-9, "{pieces:?}");
    }

    #[test]
    fn placed_drawings_move_and_grow_the_page() {
        let mut page = Drawing::default();
        let cell = Drawing {
            shapes: vec![Shape::Rect {
                at: (0.0, 0.0, 10.0, 5.0),
                fill: BLACK,
                alpha: 1.0,
            }],
            width: 10,
            height: 5,
        };
        page.place(cell.clone(), 0, 0);
        page.place(cell, 20, 10);
        assert_eq!((page.width, page.height), (30, 15));
        let pixels = page.rgb();
        let black = pixels.chunks(3).filter(|p| p == &[0, 0, 0]).count();
        assert_eq!(black, 100);
        let at = |x: usize, y: usize| &pixels[3 * (y * 30 + x)..3 * (y * 30 + x) + 3];
        assert_eq!(
            (at(25, 12), at(15, 12)),
            (&[0u8, 0, 0][..], &[255u8, 255, 255][..])
        );
        assert!(page.svg().contains("<rect x=\"20.0\" y=\"10.0\""));
    }
}
