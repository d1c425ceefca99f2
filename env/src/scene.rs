//! What a scenario looks like at a moment of its episode, as plain data: a few kinds of panel
//! that a drawing module (planetgym-training's `render`) turns into pictures. The simulator
//! itself draws nothing: it knows no fonts or image formats.

/// A titled set of panels, drawn side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub title: String,
    pub panels: Vec<Panel>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    Gantt(Gantt),
    Heatmap(Heatmap),
    Lines(Lines),
    Map(WorldMap),
}

/// Jobs as bars over time, one row per processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Gantt {
    pub title: String,
    pub time_label: String,
    /// Number of processor rows.
    pub rows: u32,
    /// The current time: bars may end after it (running jobs).
    pub now: f64,
    pub bars: Vec<Bar>,
}

/// A job on processors `rows.0..rows.1` from `start` to `end`; a job on processors that are
/// not contiguous has one bar per run of processors, all with its `job`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The job (its colour).
    pub job: u64,
    pub start: f64,
    pub end: f64,
    pub rows: (u32, u32),
}

/// A grid of values, `rows.len() x columns.len()`, row-major; NaN marks a cell that does not
/// exist (a GPU slot a node lacks).
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub row_label: String,
    pub column_label: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub values: Vec<f64>,
    /// Values mapped to the ends of the colour scale.
    pub range: (f64, f64),
    pub value_label: String,
}

/// Named lines over a shared x axis, with markers (e.g. orders) on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Lines {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    pub markers: Vec<Marker>,
}

/// A point drawn as a triangle in the colour of series `series`: pointing up for an increase,
/// down for a decrease.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub series: usize,
    pub x: f64,
    pub y: f64,
    pub up: bool,
}

/// Places on a world map (equirectangular) and the flows between them.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldMap {
    pub title: String,
    pub places: Vec<Place>,
    pub flows: Vec<Flow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub kind: PlaceKind,
    /// 0 to 1: the place's share of the largest (demand for users, capacity for sites).
    pub size: f64,
    /// 0 to 1 and more: a site's utilisation (colour); 0 for users.
    pub load: f64,
    /// Out of service (marked with a cross).
    pub failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    Users,
    Site,
}

/// Requests from place `from` to place `to`, `share` of the largest flow (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    pub from: usize,
    pub to: usize,
    pub share: f64,
}

/// A time series of a few values per point, kept to at most [`Timeline::MAX_POINTS`] points
/// over any episode length: when full, every other point goes and only every other later
/// point is kept, so the points stay evenly spread over the whole episode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// Values per point, after its x.
    width: usize,
    /// Keep one pushed point in `stride`.
    stride: u64,
    pushed: u64,
    /// Points of `1 + width` values: x first.
    data: Vec<f64>,
}

impl Timeline {
    pub const MAX_POINTS: usize = 512;

    pub fn new(width: usize) -> Self {
        Self {
            width,
            stride: 1,
            pushed: 0,
            data: Vec::new(),
        }
    }

    pub fn clear(&mut self) {
        *self = Self::new(self.width);
    }

    /// Adds the point (`x`, `values`); `values` has the timeline's width.
    pub fn push(&mut self, x: f64, values: &[f64]) {
        debug_assert_eq!(values.len(), self.width);
        if self.pushed.is_multiple_of(self.stride) {
            if self.len() == Self::MAX_POINTS {
                let point = 1 + self.width;
                let kept: Vec<f64> = self
                    .data
                    .chunks(point)
                    .step_by(2)
                    .flatten()
                    .copied()
                    .collect();
                self.data = kept;
                self.stride *= 2;
            }
            if self.pushed.is_multiple_of(self.stride) {
                self.data.push(x);
                self.data.extend_from_slice(values);
            }
        }
        self.pushed += 1;
    }

    pub fn len(&self) -> usize {
        self.data.len() / (1 + self.width)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The (x, value `k`) points.
    pub fn series(&self, k: usize) -> Vec<(f64, f64)> {
        self.data
            .chunks(1 + self.width)
            .map(|p| (p[0], p[1 + k]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timelines_stay_bounded_and_cover_the_whole_series() {
        let mut timeline = Timeline::new(1);
        for i in 0..10_000 {
            timeline.push(i as f64, &[2.0 * i as f64]);
        }
        let points = timeline.series(0);
        assert!(points.len() <= Timeline::MAX_POINTS && points.len() > Timeline::MAX_POINTS / 4);
        assert_eq!(points[0], (0.0, 0.0));
        assert!(points.last().unwrap().0 > 9_000.0, "{:?}", points.last());
        let gaps: Vec<f64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(gaps.iter().all(|g| *g == gaps[0]), "evenly spread");
        assert!(points.iter().all(|p| p.1 == 2.0 * p.0));
        let mut short = Timeline::new(2);
        short.push(0.0, &[1.0, 2.0]);
        short.push(1.0, &[3.0, 4.0]);
        assert_eq!(short.series(1), vec![(0.0, 2.0), (1.0, 4.0)]);
        short.clear();
        assert!(short.is_empty());
    }
}
