//! Axes fitted to data: round ticks (1, 2 or 5 times a power of ten), labels in k or M when
//! large; and the frame of a chart (grid, ticks, axis lines, labels) they span.

use super::drawing::{Anchor, BLACK, GRID, Shape};

/// An axis fitted to values: round ticks every `step` from `lo` to `hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl Axis {
    /// About five round steps (1, 2 or 5 times a power of ten) covering `min..=max`.
    pub fn fit(min: f64, max: f64) -> Self {
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

    pub fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round() as i64;
        (0..=n).map(|k| self.lo + k as f64 * self.step).collect()
    }

    /// `v` with as many decimals as the step needs, in thousands (k) or millions (M) when the
    /// ticks are that large.
    pub fn label(&self, v: f64) -> String {
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
    pub fn position(&self, v: f64, length: i32) -> f64 {
        (v - self.lo) / (self.hi - self.lo) * f64::from(length)
    }
}

/// A plot area of `size` pixels whose top-left corner is at `origin`, spanned by two axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub x: Axis,
    pub y: Axis,
    pub origin: (i32, i32),
    pub size: (i32, i32),
}

impl Frame {
    /// Where the point (`x`, `y`) falls, in pixels.
    pub fn pixel(&self, x: f64, y: f64) -> (f64, f64) {
        (
            f64::from(self.origin.0) + self.x.position(x, self.size.0),
            f64::from(self.origin.1 + self.size.1) - self.y.position(y, self.size.1),
        )
    }

    /// The grid at every tick, the tick labels, the axis lines and the axis labels.
    pub fn shapes(&self, x_label: &str, y_label: &str) -> Vec<Shape> {
        let (left, top) = self.origin;
        let (right, bottom) = (left + self.size.0, top + self.size.1);
        let (l, r, t, b) = (
            f64::from(left),
            f64::from(right),
            f64::from(top),
            f64::from(bottom),
        );
        let mut shapes = Vec::new();
        for x in self.x.ticks() {
            let (px, _) = self.pixel(x, self.y.lo);
            shapes.push(Shape::line((px, t), (px, b), GRID, 1));
            shapes.push(Shape::text(
                (px as i32, bottom + 14),
                self.x.label(x),
                Anchor::Middle,
            ));
        }
        for y in self.y.ticks() {
            let (_, py) = self.pixel(self.x.lo, y);
            shapes.push(Shape::line((l, py), (r, py), GRID, 1));
            shapes.push(Shape::text(
                (left - 6, py as i32 + 3),
                self.y.label(y),
                Anchor::End,
            ));
        }
        shapes.push(Shape::line((l, t), (l, b), BLACK, 1));
        shapes.push(Shape::line((l, b), (r, b), BLACK, 1));
        shapes.push(Shape::text(
            (left + self.size.0 / 2, bottom + 36),
            x_label,
            Anchor::Middle,
        ));
        shapes.push(Shape::text((8, top - 10), y_label, Anchor::Start));
        shapes
    }
}

/// The smallest and largest finite value (infinities when there is none).
pub fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
