//! Line charts as PNG files, drawn with embedded-graphics' built-in bitmap font (no system
//! fonts or libraries needed) and encoded by the `png` crate.

use crate::error::{Result, TrainingError};
use embedded_graphics::mono_font::{MonoTextStyle, ascii::FONT_6X10};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle};
use embedded_graphics::text::{Alignment, Text};
use std::path::Path;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 520;
const LEFT: i32 = 70;
const RIGHT: i32 = 200;
const TOP: i32 = 40;
const BOTTOM: i32 = 50;

const PALETTE: [Rgb888; 8] = [
    Rgb888::new(31, 119, 180),
    Rgb888::new(255, 127, 14),
    Rgb888::new(44, 160, 44),
    Rgb888::new(214, 39, 40),
    Rgb888::new(148, 103, 189),
    Rgb888::new(140, 86, 75),
    Rgb888::new(227, 119, 194),
    Rgb888::new(127, 127, 127),
];

/// An RGB image embedded-graphics can draw on.
struct Canvas {
    pixels: Vec<u8>,
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(WIDTH, HEIGHT)
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
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < WIDTH && (p.y as u32) < HEIGHT {
                let i = 3 * (p.y as usize * WIDTH as usize + p.x as usize);
                self.pixels[i..i + 3].copy_from_slice(&[c.r(), c.g(), c.b()]);
            }
        }
        Ok(())
    }
}

/// One named line.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Draws `series` (x ascending) with axes from 0 to the data's extremes (negative values
/// included, on both axes) and writes a PNG.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let mut canvas = Canvas {
        pixels: vec![255; (3 * WIDTH * HEIGHT) as usize],
    };
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_max = all().map(|p| p.0).fold(0.0, f64::max);
    let x_min = all().map(|p| p.0).fold(0.0, f64::min);
    let x_span = (x_max - x_min).max(1e-9);
    let y_max = all().map(|p| p.1).fold(0.0, f64::max);
    let y_min = all().map(|p| p.1).fold(0.0, f64::min);
    let y_span = (y_max - y_min).max(1e-9);
    let (plot_w, plot_h) = (WIDTH as i32 - LEFT - RIGHT, HEIGHT as i32 - TOP - BOTTOM);
    let to_px = |x: f64, y: f64| {
        Point::new(
            LEFT + ((x - x_min) / x_span * f64::from(plot_w)) as i32,
            TOP + plot_h - ((y - y_min) / y_span * f64::from(plot_h)) as i32,
        )
    };
    let black = MonoTextStyle::new(&FONT_6X10, Rgb888::BLACK);
    let axis = PrimitiveStyle::with_stroke(Rgb888::BLACK, 1);
    let grid = PrimitiveStyle::with_stroke(Rgb888::new(225, 225, 225), 1);
    let _ = Text::with_alignment(
        title,
        Point::new(WIDTH as i32 / 2, 20),
        black,
        Alignment::Center,
    )
    .draw(&mut canvas);
    for i in 0..=5 {
        let (fx, fy) = (
            x_min + x_span * f64::from(i) / 5.0,
            y_min + y_span * f64::from(i) / 5.0,
        );
        let (px, py) = (to_px(fx, y_min), to_px(x_min, fy));
        let _ = Line::new(Point::new(px.x, TOP), Point::new(px.x, TOP + plot_h))
            .into_styled(grid)
            .draw(&mut canvas);
        let _ = Line::new(Point::new(LEFT, py.y), Point::new(LEFT + plot_w, py.y))
            .into_styled(grid)
            .draw(&mut canvas);
        let _ = Text::with_alignment(
            &tick(fx),
            Point::new(px.x, TOP + plot_h + 14),
            black,
            Alignment::Center,
        )
        .draw(&mut canvas);
        let _ = Text::with_alignment(
            &tick(fy),
            Point::new(LEFT - 6, py.y + 3),
            black,
            Alignment::Right,
        )
        .draw(&mut canvas);
    }
    let _ = Line::new(Point::new(LEFT, TOP), Point::new(LEFT, TOP + plot_h))
        .into_styled(axis)
        .draw(&mut canvas);
    let _ = Line::new(
        Point::new(LEFT, TOP + plot_h),
        Point::new(LEFT + plot_w, TOP + plot_h),
    )
    .into_styled(axis)
    .draw(&mut canvas);
    let _ = Text::with_alignment(
        x_label,
        Point::new(LEFT + plot_w / 2, HEIGHT as i32 - 14),
        black,
        Alignment::Center,
    )
    .draw(&mut canvas);
    let _ = Text::new(y_label, Point::new(8, TOP - 10), black).draw(&mut canvas);
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let style = PrimitiveStyle::with_stroke(color, 2);
        for w in s.points.windows(2) {
            let _ = Line::new(to_px(w[0].0, w[0].1), to_px(w[1].0, w[1].1))
                .into_styled(style)
                .draw(&mut canvas);
        }
        let y = TOP + 10 + 16 * i as i32;
        let x = WIDTH as i32 - RIGHT + 15;
        let _ = Line::new(Point::new(x, y - 3), Point::new(x + 20, y - 3))
            .into_styled(style)
            .draw(&mut canvas);
        let _ = Text::new(&s.name, Point::new(x + 26, y), black).draw(&mut canvas);
    }
    let failed = |e: &dyn std::fmt::Display| {
        TrainingError::report(format!("could not write {}", path.display()), e)
    };
    let file = std::fs::File::create(path).map_err(|e| failed(&e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| failed(&e))?;
    writer
        .write_image_data(&canvas.pixels)
        .map_err(|e| failed(&e))?;
    Ok(())
}

fn tick(v: f64) -> String {
    if v == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_the_lines_in_their_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let series = vec![
            Series {
                name: "a".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
            },
            Series {
                name: "b".into(),
                points: vec![(0.0, 1.0), (1.0, 0.0)],
            },
        ];
        line_chart(&path, "title", "x", "y", &series).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let count = |c: Rgb888| {
            buf.chunks(3)
                .filter(|p| p == &[c.r(), c.g(), c.b()])
                .count()
        };
        assert!(
            count(PALETTE[0]) > 300 && count(PALETTE[1]) > 300,
            "both lines drawn"
        );
    }
}
