//! Pictures of a scenario's state (`Scenario::scene`): a Gantt chart of a schedule, heat-maps,
//! line charts with markers and a world map of flows, two panels a row under the scene's title.

use super::axis::{Axis, Frame};
use super::drawing::{Anchor, BLACK, CHAR_WIDTH, Colour, Drawing, GRID, PALETTE, Shape};
use super::line_chart::{BOTTOM, LEFT, PLOT_SIZE, Series, TOP, chart};
use planetgym_env::Scene;
use planetgym_env::scene::{Gantt, Heatmap, Lines, Panel, PlaceKind, WorldMap};
use planetgym_env::world::geography::population_cells;

/// Height of the scene's title line.
const TITLE_HEIGHT: u32 = 24;
const PANELS_PER_ROW: usize = 2;
/// Colour of a heat-map cell that does not exist.
const MISSING: Colour = (200, 200, 200);
/// Viridis at five points: dark for low values, bright for high ones, readable in grey too.
const VIRIDIS: [Colour; 5] = [
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
];

/// The scene as one drawing.
pub fn draw(scene: &Scene) -> Drawing {
    let panels: Vec<Drawing> = scene
        .panels
        .iter()
        .map(|panel| match panel {
            Panel::Gantt(g) => gantt(g),
            Panel::Heatmap(h) => heatmap(h),
            Panel::Lines(l) => lines(l),
            Panel::Map(m) => world_map(m),
        })
        .collect();
    let cell_width = panels.iter().map(|p| p.width).max().unwrap_or(0);
    let cell_height = panels.iter().map(|p| p.height).max().unwrap_or(0);
    let mut page = Drawing::default();
    for (i, panel) in panels.into_iter().enumerate() {
        let (column, row) = ((i % PANELS_PER_ROW) as u32, (i / PANELS_PER_ROW) as u32);
        page.place(panel, column * cell_width, TITLE_HEIGHT + row * cell_height);
    }
    page.width = page
        .width
        .max(CHAR_WIDTH as u32 * scene.title.len() as u32 + 20);
    page.height = page.height.max(TITLE_HEIGHT);
    page.shapes
        .push(Shape::text((10, 16), scene.title.clone(), Anchor::Start));
    page
}

/// `VIRIDIS` at `t` (0 to 1).
fn colour_scale(t: f64) -> Colour {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let (k, f) = ((t.floor() as usize).min(VIRIDIS.len() - 2), t.fract());
    let f = if t >= (VIRIDIS.len() - 1) as f64 {
        1.0
    } else {
        f
    };
    mix(VIRIDIS[k], VIRIDIS[k + 1], f)
}

/// `a` moved a fraction `t` of the way to `b`.
fn mix(a: Colour, b: Colour, t: f64) -> Colour {
    let m = |x: u8, y: u8| (f64::from(x) + t * (f64::from(y) - f64::from(x))).round() as u8;
    (m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}

/// A distinct colour per job: hues a golden angle apart.
fn job_colour(job: u64) -> Colour {
    let hue = (job as f64 * 0.618_033_988_749_895).fract() * 6.0;
    let (sector, f) = (hue.floor() as u8, hue.fract());
    let (hi, lo) = (220.0, 70.0);
    let up = lo + f * (hi - lo);
    let down = hi - f * (hi - lo);
    let (r, g, b) = match sector {
        0 => (hi, up, lo),
        1 => (down, hi, lo),
        2 => (lo, hi, up),
        3 => (lo, down, hi),
        4 => (up, lo, hi),
        _ => (hi, lo, down),
    };
    (r as u8, g as u8, b as u8)
}

fn gantt(g: &Gantt) -> Drawing {
    let end = g.bars.iter().map(|b| b.end).fold(g.now, f64::max);
    let frame = Frame {
        x: Axis::fit(0.0, end.max(f64::MIN_POSITIVE)),
        y: Axis::fit(0.0, f64::from(g.rows.max(1))),
        origin: (LEFT, TOP),
        size: PLOT_SIZE,
    };
    let mut shapes = frame.shapes(&g.time_label, "processors");
    for bar in &g.bars {
        let (x0, y1) = frame.pixel(bar.start, f64::from(bar.rows.0));
        let (x1, y0) = frame.pixel(bar.end, f64::from(bar.rows.1));
        shapes.push(Shape::Rect {
            at: (x0, y0, x1 - x0, y1 - y0),
            fill: job_colour(bar.job),
            alpha: 1.0,
        });
    }
    let processors = f64::from(g.rows);
    let (left, top_row) = frame.pixel(frame.x.lo, processors);
    let (right, _) = frame.pixel(frame.x.hi, processors);
    shapes.push(Shape::line((left, top_row), (right, top_row), BLACK, 1));
    shapes.push(Shape::text(
        (right as i32 - 2, top_row as i32 - 3),
        format!("{} processors", g.rows),
        Anchor::End,
    ));
    let (now, top) = frame.pixel(g.now, frame.y.hi);
    let (_, bottom) = frame.pixel(g.now, frame.y.lo);
    shapes.push(Shape::Polyline {
        points: vec![(now, top), (now, bottom)],
        colour: BLACK,
        width: 1,
        dash: &[4, 3],
    });
    shapes.push(Shape::text((now as i32 + 3, TOP - 2), "now", Anchor::Start));
    titled(
        shapes,
        &g.title,
        LEFT + PLOT_SIZE.0 + 20,
        TOP + PLOT_SIZE.1 + BOTTOM,
    )
}

fn lines(l: &Lines) -> Drawing {
    let series: Vec<Series> = l
        .series
        .iter()
        .map(|(name, points)| Series::line(name.clone(), points.clone()))
        .collect();
    chart(
        &l.title, &l.x_label, &l.y_label, &series, &l.markers, PLOT_SIZE,
    )
}

/// A panel of `shapes` with `title` centred on top.
fn titled(mut shapes: Vec<Shape>, title: &str, width: i32, height: i32) -> Drawing {
    let width = width.max(CHAR_WIDTH * title.len() as i32 + 20);
    shapes.push(Shape::text((width / 2, 20), title, Anchor::Middle));
    Drawing {
        shapes,
        width: width as u32,
        height: height as u32,
    }
}

/// Rows drawn one each up to this many; more are averaged into this many bands.
const HEATMAP_ROWS: usize = 60;
const HEATMAP_ROW_HEIGHT: f64 = 10.0;
const HEATMAP_WIDTH: f64 = 480.0;
/// Longest row label drawn, in characters.
const LABEL_CHARS: usize = 24;

fn heatmap(h: &Heatmap) -> Drawing {
    let (rows, columns) = (h.rows.len(), h.columns.len());
    if rows == 0 || columns == 0 || h.values.len() != rows * columns {
        let note = format!(
            "(no data: {rows} x {columns} cells, {} values)",
            h.values.len()
        );
        let shapes = vec![Shape::text((10, TOP + 10), note, Anchor::Start)];
        return titled(shapes, &h.title, 300, TOP + 40);
    }
    // Bands of rows: band k holds rows bands[k]..bands[k + 1].
    let band_count = rows.min(HEATMAP_ROWS);
    let bands: Vec<usize> = (0..=band_count).map(|k| k * rows / band_count).collect();
    let label = |name: &str| -> String {
        if name.chars().count() > LABEL_CHARS {
            format!(
                "{}..",
                name.chars().take(LABEL_CHARS - 2).collect::<String>()
            )
        } else {
            name.to_string()
        }
    };
    let label_chars = h.rows.iter().map(|r| label(r).len()).max().unwrap_or(0);
    let left = 20 + CHAR_WIDTH * label_chars as i32;
    let cell_width = (HEATMAP_WIDTH / columns as f64).clamp(4.0, 60.0);
    let plot_width = cell_width * columns as f64;
    let plot_height = HEATMAP_ROW_HEIGHT * band_count as f64;
    let (x0, y0) = (f64::from(left), f64::from(TOP));
    let mut shapes = Vec::new();
    for k in 0..band_count {
        let y = y0 + HEATMAP_ROW_HEIGHT * k as f64;
        for c in 0..columns {
            let cells = (bands[k]..bands[k + 1])
                .map(|r| h.values[r * columns + c])
                .filter(|v| v.is_finite());
            let (sum, n) = cells.fold((0.0, 0), |(s, n), v| (s + v, n + 1));
            let fill = if n == 0 {
                MISSING
            } else {
                let span = (h.range.1 - h.range.0).max(f64::MIN_POSITIVE);
                colour_scale((sum / f64::from(n) - h.range.0) / span)
            };
            shapes.push(Shape::Rect {
                at: (
                    x0 + cell_width * c as f64,
                    y,
                    cell_width,
                    HEATMAP_ROW_HEIGHT,
                ),
                fill,
                alpha: 1.0,
            });
        }
        let name = if bands[k + 1] - bands[k] == 1 {
            label(&h.rows[bands[k]])
        } else {
            format!("{}-{}", bands[k], bands[k + 1] - 1)
        };
        shapes.push(Shape::text((left - 4, y as i32 + 8), name, Anchor::End));
    }
    let grouped = if band_count < rows {
        format!(
            " (rows averaged in groups of {}, by index)",
            rows / band_count
        )
    } else {
        String::new()
    };
    shapes.push(Shape::text(
        (8, TOP - 8),
        format!("{}{grouped}", h.row_label),
        Anchor::Start,
    ));
    // Column names under the columns when they fit, else numbers and a key below.
    let fits = h
        .columns
        .iter()
        .all(|c| f64::from(CHAR_WIDTH) * c.len() as f64 <= cell_width - 2.0);
    let below = TOP + plot_height as i32;
    for (c, name) in h.columns.iter().enumerate() {
        let x = (x0 + cell_width * (c as f64 + 0.5)) as i32;
        let text = if fits { name.clone() } else { c.to_string() };
        shapes.push(Shape::text((x, below + 12), text, Anchor::Middle));
    }
    let mut notes = vec![h.column_label.clone()];
    if !fits {
        let key: Vec<String> = h
            .columns
            .iter()
            .enumerate()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        notes.extend(wrap(&key.join(", "), 80));
    }
    // The colour scale: its ends and what it shows.
    let bar_x = x0 + plot_width + 12.0;
    for k in 0..50 {
        let t = 1.0 - f64::from(k) / 49.0;
        shapes.push(Shape::Rect {
            at: (
                bar_x,
                y0 + plot_height * f64::from(k) / 50.0,
                12.0,
                plot_height / 50.0 + 1.0,
            ),
            fill: colour_scale(t),
            alpha: 1.0,
        });
    }
    let axis = Axis::fit(h.range.0, h.range.1);
    shapes.push(Shape::text(
        ((bar_x + 16.0) as i32, TOP + 8),
        axis.label(h.range.1),
        Anchor::Start,
    ));
    shapes.push(Shape::text(
        ((bar_x + 16.0) as i32, below),
        axis.label(h.range.0),
        Anchor::Start,
    ));
    notes.push(format!("colour: {}", h.value_label));
    for (i, note) in notes.iter().enumerate() {
        shapes.push(Shape::text(
            (left, below + 28 + 12 * i as i32),
            note.clone(),
            Anchor::Start,
        ));
    }
    let text_width = notes.iter().map(|n| n.len()).max().unwrap_or(0) as i32 * CHAR_WIDTH;
    let width = (bar_x as i32 + 60).max(left + text_width + 10);
    titled(
        shapes,
        &h.title,
        width,
        below + 36 + 12 * notes.len() as i32,
    )
}

/// `text` cut at spaces into lines of at most `width` characters (longer words stay whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().map_or(0, |l| l.len());
        if line > 0 && line + 1 + word.len() > width {
            lines.push(String::new());
        }
        if let Some(l) = lines.last_mut() {
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
    }
    lines
}

/// Pixels per degree of the world map (equirectangular).
const MAP_SCALE: f64 = 2.0;
const MAP_LEFT: f64 = 10.0;
const USERS: Colour = (255, 127, 14);
const FLOW: Colour = (31, 119, 180);
const FAILED: Colour = (214, 39, 40);

fn world_map(m: &WorldMap) -> Drawing {
    let (width, height) = (360.0 * MAP_SCALE, 180.0 * MAP_SCALE);
    let top = f64::from(TOP);
    let at = |lat: f64, lon: f64| {
        (
            MAP_LEFT + (lon + 180.0) * MAP_SCALE,
            top + (90.0 - lat) * MAP_SCALE,
        )
    };
    let mut shapes = vec![Shape::Rect {
        at: (MAP_LEFT, top, width, height),
        fill: (240, 246, 252),
        alpha: 1.0,
    }];
    // Land, where people live: darker for more people.
    for (lat, lon, people) in population_cells() {
        let (x, y) = at(lat + 1.0, lon - 1.0);
        let shade = ((people.max(1.0).log10() - 4.0) / 3.0).clamp(0.0, 1.0);
        shapes.push(Shape::Rect {
            at: (x, y, 2.0 * MAP_SCALE, 2.0 * MAP_SCALE),
            fill: mix((215, 215, 205), (150, 150, 140), shade),
            alpha: 1.0,
        });
    }
    for k in -2..=2 {
        let lat = 30.0 * f64::from(k);
        shapes.push(Shape::line(at(lat, -180.0), at(lat, 180.0), GRID, 1));
    }
    for k in -6..=6 {
        let lon = 30.0 * f64::from(k);
        shapes.push(Shape::line(at(90.0, lon), at(-90.0, lon), GRID, 1));
    }
    let place_at = |i: usize| m.places.get(i).map(|p| at(p.lat, p.lon));
    let mut flows = m.flows.clone();
    flows.sort_by(|a, b| a.share.total_cmp(&b.share));
    for flow in &flows {
        if let (Some(a), Some(b)) = (place_at(flow.from), place_at(flow.to)) {
            let share = flow.share.clamp(0.0, 1.0);
            let colour = mix((255, 255, 255), FLOW, 0.25 + 0.75 * share);
            shapes.push(Shape::line(a, b, colour, 1 + (3.0 * share).round() as u32));
        }
    }
    for place in m.places.iter().filter(|p| p.kind == PlaceKind::Users) {
        shapes.push(Shape::Circle {
            centre: at(place.lat, place.lon),
            radius: 1.5 + 6.0 * place.size.clamp(0.0, 1.0).sqrt(),
            fill: USERS,
            alpha: 0.6,
        });
    }
    for place in m.places.iter().filter(|p| p.kind == PlaceKind::Site) {
        let (x, y) = at(place.lat, place.lon);
        let half = 3.0 + 4.0 * place.size.clamp(0.0, 1.0).sqrt();
        shapes.push(Shape::Rect {
            at: (
                x - half - 1.0,
                y - half - 1.0,
                2.0 * half + 2.0,
                2.0 * half + 2.0,
            ),
            fill: BLACK,
            alpha: 1.0,
        });
        shapes.push(Shape::Rect {
            at: (x - half, y - half, 2.0 * half, 2.0 * half),
            fill: load_colour(place.load),
            alpha: 1.0,
        });
        if place.failed {
            let d = half + 3.0;
            shapes.push(Shape::line((x - d, y - d), (x + d, y + d), FAILED, 3));
            shapes.push(Shape::line((x - d, y + d), (x + d, y - d), FAILED, 3));
        }
        shapes.push(Shape::text(
            ((x + half + 4.0) as i32, y as i32 + 3),
            place.name.clone(),
            Anchor::Start,
        ));
    }
    let legend = [
        "orange dots: user regions (area ~ demand); lines: requests (darker, wider: more)",
        "squares: sites (size ~ capacity; green idle, yellow 75% busy, red full); red X: capacity lost",
    ];
    let bottom = (top + height) as i32;
    for (i, line) in legend.iter().enumerate() {
        shapes.push(Shape::text(
            (MAP_LEFT as i32, bottom + 16 + 12 * i as i32),
            *line,
            Anchor::Start,
        ));
    }
    let text_width = legend.iter().map(|l| l.len()).max().unwrap_or(0) as i32 * CHAR_WIDTH;
    titled(
        shapes,
        &m.title,
        // Room on the right for the names of sites in the far east.
        ((MAP_LEFT + width) as i32 + 100).max(MAP_LEFT as i32 + text_width + 10),
        bottom + 44,
    )
}

/// Green when idle, yellow at 75 % utilisation, red when full or over.
fn load_colour(load: f64) -> Colour {
    let (green, yellow, red) = (PALETTE[2], (240, 200, 30), PALETTE[3]);
    if load <= 0.75 {
        mix(green, yellow, load.max(0.0) / 0.75)
    } else {
        mix(yellow, red, ((load - 0.75) / 0.25).min(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::scene::{Bar, Flow, Marker, Place};

    fn count(pixels: &[u8], colour: Colour) -> usize {
        pixels
            .chunks(3)
            .filter(|p| p == &[colour.0, colour.1, colour.2])
            .count()
    }

    #[test]
    fn every_kind_of_panel_draws() {
        let heatmap = Heatmap {
            title: "h".into(),
            row_label: "node".into(),
            column_label: "GPU".into(),
            rows: (0..200).map(|r| format!("node-{r}")).collect(),
            columns: vec!["0".into(), "1".into()],
            // The second GPU of every node is missing.
            values: (0..200)
                .flat_map(|r| [f64::from(r) / 199.0, f64::NAN])
                .collect(),
            range: (0.0, 1.0),
            value_label: "share".into(),
        };
        let scene = Scene {
            title: "all panels".into(),
            panels: vec![
                Panel::Gantt(Gantt {
                    title: "g".into(),
                    time_label: "hours".into(),
                    rows: 8,
                    now: 2.0,
                    bars: vec![Bar {
                        job: 3,
                        start: 0.0,
                        end: 3.0,
                        rows: (0, 4),
                    }],
                }),
                Panel::Heatmap(heatmap),
                Panel::Lines(Lines {
                    title: "l".into(),
                    x_label: "x".into(),
                    y_label: "y".into(),
                    series: vec![("demand".into(), vec![(0.0, 1.0), (1.0, 2.0)])],
                    markers: vec![Marker {
                        series: 0,
                        x: 1.0,
                        y: 2.0,
                        up: true,
                    }],
                }),
                Panel::Map(WorldMap {
                    title: "m".into(),
                    places: vec![
                        Place {
                            name: "users".into(),
                            lat: 50.0,
                            lon: 0.0,
                            kind: PlaceKind::Users,
                            size: 1.0,
                            load: 0.0,
                            failed: false,
                        },
                        Place {
                            name: "down".into(),
                            lat: 40.0,
                            lon: -75.0,
                            kind: PlaceKind::Site,
                            size: 1.0,
                            load: 2.0,
                            failed: true,
                        },
                    ],
                    flows: vec![Flow {
                        from: 0,
                        to: 1,
                        share: 1.0,
                    }],
                }),
            ],
        };
        let drawing = draw(&scene);
        let pixels = drawing.rgb();
        assert_eq!(pixels.len(), 3 * (drawing.width * drawing.height) as usize);
        assert!(count(&pixels, job_colour(3)) > 1000, "the job's bar");
        assert!(count(&pixels, MISSING) > 1000, "missing GPUs in grey");
        assert!(count(&pixels, VIRIDIS[4]) > 50 && count(&pixels, VIRIDIS[0]) > 50);
        assert!(count(&pixels, FAILED) > 20, "the failed site's cross");
        assert!(
            count(&pixels, load_colour(2.0)) > 20,
            "an overloaded site in red"
        );
        assert!(count(&pixels, PALETTE[0]) > 100, "the line and its marker");
        let svg = drawing.svg();
        for part in [
            "<circle",
            "<rect",
            "<polygon",
            "all panels",
            "node (rows averaged",
        ] {
            assert!(svg.contains(part), "{part}");
        }
    }

    #[test]
    fn a_heatmap_whose_values_do_not_match_its_shape_says_so() {
        let bad = Heatmap {
            title: "bad".into(),
            row_label: String::new(),
            column_label: String::new(),
            rows: vec!["a".into()],
            columns: vec!["b".into()],
            values: vec![],
            range: (0.0, 1.0),
            value_label: String::new(),
        };
        assert!(heatmap(&bad).svg().contains("no data"));
        let empty = draw(&Scene {
            title: "nothing".into(),
            panels: vec![],
        });
        assert!(empty.width > 0 && empty.height > 0);
    }

    #[test]
    fn long_text_wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("averylongword x", 4), vec!["averylongword", "x"]);
    }
}
