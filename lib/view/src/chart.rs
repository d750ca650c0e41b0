//! One metric's series drawn with what the engine read in it: the baseline part of
//! the range shaded grey, the usual level dashed, the onset as a red line and the
//! incident part after it shaded red. The same drawing goes to SVG (the page) and to
//! an RGB bitmap encoded as PNG (the chat card).

use std::sync::OnceLock;

use aegis_core::report::{Chart, Clock};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The series' colour; the page test looks for it in a screenshot.
pub const LINE: RGBColor = RGBColor(0x1c, 0x6d, 0xd0);
const INCIDENT: RGBColor = RGBColor(0xe0, 0x31, 0x31);
const BASELINE: RGBColor = RGBColor(0x86, 0x8e, 0x96);

/// The family the embedded font is registered under.
const FAMILY: &str = "sans-serif";
/// DejaVu Sans (its licence beside it): text in charts never depends on the fonts
/// of the machine that draws them.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The series has fewer than two points.
    #[error("a chart needs at least two points")]
    TooShort,
    /// The drawing backend failed.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

/// `chart` as an SVG document of `width` x `height` pixels.
pub fn svg(chart: &Chart, clock: Clock, width: u32, height: u32) -> Result<String, Error> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root, chart, &chart.title, clock)?;
        root.present().map_err(draw_error)?;
    }
    Ok(out)
}

/// `chart` as a PNG image of `width` x `height` pixels; its title as far as the
/// embedded font can draw it ([`drawable`]).
pub fn png(chart: &Chart, clock: Clock, width: u32, height: u32) -> Result<Vec<u8>, Error> {
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root, chart, &drawable(&chart.title), clock)?;
        root.present().map_err(draw_error)?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(draw_error)?;
    writer.write_image_data(&rgb).map_err(draw_error)?;
    writer.finish().map_err(draw_error)?;
    Ok(out)
}

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::Draw(e.to_string())
}

fn font() -> Result<(), Error> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded font is unreadable".to_string())
        })
        .clone()
        .map_err(Error::Draw)
}

/// `title` as the embedded font draws it in a bitmap: characters it has no glyph for
/// (the Chinese words of a Chinese report's title, "checkout 的 cpu_seconds_rate")
/// left out rather than drawn as empty boxes, spaces collapsed. An SVG keeps the whole
/// title: the browser draws its text with its own fonts.
pub fn drawable(title: &str) -> String {
    use ab_glyph::Font;
    let Ok(font) = ab_glyph::FontRef::try_from_slice(FONT) else {
        return title.to_string();
    };
    let kept: String = title
        .chars()
        .map(|c| if font.glyph_id(c).0 == 0 { ' ' } else { c })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    caption: &str,
    clock: Clock,
) -> Result<(), Error> {
    font()?;
    let [first, .., last] = chart.points.as_slice() else {
        return Err(Error::TooShort);
    };
    let (x0, x1) = (first[0], last[0].max(first[0] + 1.0));
    let values = chart.points.iter().map(|p| p[1]).chain([chart.baseline]);
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.01).max(1e-9);
    let (y0, y1) = ((lo - pad).min(0.0f64.max(lo - pad)), hi + pad);
    root.fill(&WHITE).map_err(draw_error)?;
    let unit = chart.unit;
    let mut plot = ChartBuilder::on(root)
        .margin(8)
        .caption(caption, (FAMILY, 14))
        .x_label_area_size(24)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_error)?;
    let hm = |x: &f64| {
        let t = clock.time_of_unix(*x);
        t.get(..5).unwrap_or(&t).to_string()
    };
    plot.configure_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&hm)
        .y_label_formatter(&|y| unit.format(*y))
        .label_style((FAMILY, 11))
        .light_line_style(WHITE)
        .draw()
        .map_err(draw_error)?;
    let baseline_end = chart.baseline_end.clamp(x0, x1);
    let onset = chart.onset.clamp(x0, x1);
    plot.draw_series([
        Rectangle::new([(x0, y0), (baseline_end, y1)], BASELINE.mix(0.12).filled()),
        Rectangle::new([(onset, y0), (x1, y1)], INCIDENT.mix(0.10).filled()),
    ])
    .map_err(draw_error)?;
    plot.draw_series(DashedLineSeries::new(
        [(x0, chart.baseline), (x1, chart.baseline)],
        6,
        4,
        BASELINE.stroke_width(1),
    ))
    .map_err(draw_error)?;
    plot.draw_series(std::iter::once(PathElement::new(
        [(onset, y0), (onset, y1)],
        INCIDENT.stroke_width(2),
    )))
    .map_err(draw_error)?;
    plot.draw_series(LineSeries::new(
        chart.points.iter().map(|p| (p[0], p[1])),
        LINE.stroke_width(2),
    ))
    .map_err(draw_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_core::report::Unit;

    pub(crate) fn cpu_chart() -> Chart {
        let points: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let t = 1_769_700_000.0 + 15.0 * i as f64;
                (t, if i >= 40 { 0.5 } else { 0.005 })
            })
            .collect();
        Chart::new(
            "cpu_seconds_rate of checkout".into(),
            Unit::Cores,
            &points,
            0.005,
            1_769_700_300.0,
            1_769_700_600.0,
        )
    }

    #[test]
    fn svg_has_the_title_the_units_the_series_and_the_zone_clock() {
        let svg = svg(&cpu_chart(), Clock::named("Asia/Shanghai"), 640, 220).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("cpu_seconds_rate of checkout"));
        assert!(svg.contains("cores"), "y labels carry the unit");
        // 1_769_700_000 is 15:20 UTC, 23:20 in Shanghai.
        assert!(svg.contains("23:2"), "x labels in the report's zone");
        assert!(
            svg.contains("#1C6DD0") || svg.contains("#1c6dd0"),
            "the series is drawn"
        );
    }

    #[test]
    fn png_is_a_png_of_the_size_asked_with_the_series_drawn() {
        let bytes = png(&cpu_chart(), Clock::default(), 480, 200).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (480, 200));
        let line = buf[..info.buffer_size()]
            .chunks(3)
            .filter(|p| p == &[LINE.0, LINE.1, LINE.2])
            .count();
        assert!(line > 100, "{line} pixels of the series colour");
    }

    #[test]
    fn a_bitmap_title_keeps_what_the_font_can_draw() {
        assert_eq!(
            drawable("checkout 的 cpu_seconds_rate"),
            "checkout cpu_seconds_rate"
        );
        assert_eq!(
            drawable("cpu_seconds_rate of checkout (x3.2, µs → ms)"),
            "cpu_seconds_rate of checkout (x3.2, µs → ms)"
        );
    }

    #[test]
    fn a_single_point_is_refused() {
        let mut chart = cpu_chart();
        chart.points.truncate(1);
        assert!(matches!(
            svg(&chart, Clock::default(), 100, 100),
            Err(Error::TooShort)
        ));
    }
}
