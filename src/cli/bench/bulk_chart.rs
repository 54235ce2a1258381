//! `udp-lab bench --bulk --plot FILE`: the bulk race as an SVG chart, two
//! horizontal bar charts side by side: delivered Gbit/s (median, whisker
//! from the slowest to the fastest repetition) and CPU nanoseconds per
//! delivered byte. GSO/GRO pairs are green, quinn-udp orange, the rest blue.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::bulk::{BulkReport, Pair};

/// Draws the chart into `path` (written in one piece: plotters' file
/// backend would lose the error of a full disk).
pub fn plot(report: &BulkReport, path: &Path) -> Result<(), String> {
    let mut svg = String::new();
    draw(&mut svg, report).map_err(|e| e.to_string())?;
    std::fs::write(path, svg).map_err(|e| e.to_string())
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

fn draw(svg: &mut String, report: &BulkReport) -> Drawn {
    let root = SVGBackend::with_string(svg, (1000, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "udp-lab bench --bulk: {} MiB in {}-byte datagrams (medians of {})",
        report.load.bytes >> 20,
        report.load.segment,
        report.repeat
    );
    let root = root.titled(&title, ("sans-serif", 18))?;
    let (left, right) = root.split_horizontally(560);
    let names: Vec<String> = report.summaries.iter().map(|s| s.pair.name()).collect();
    let colours: Vec<RGBColor> = report.summaries.iter().map(|s| colour(s.pair)).collect();
    let gbit: Vec<(f64, f64, f64)> = report
        .summaries
        .iter()
        .map(|s| {
            let each: Vec<f64> = s.runs.iter().map(|r| r.bytes_per_s() * 8.0 / 1e9).collect();
            let median = super::summary::median(&mut each.clone());
            (
                median,
                each.iter().copied().fold(f64::MAX, f64::min),
                each.iter().copied().fold(0.0, f64::max),
            )
        })
        .collect();
    bars(
        &left,
        "delivered Gbit/s (higher is better)",
        &names,
        &colours,
        &gbit,
    )?;
    let cpu: Vec<(f64, f64, f64)> = report
        .summaries
        .iter()
        .map(|s| {
            let mut each: Vec<f64> = s.runs.iter().filter_map(|r| r.cpu_ns_per_byte()).collect();
            let v = super::summary::median(&mut each);
            (v, v, v)
        })
        .collect();
    bars(
        &right,
        "CPU ns per byte (lower is better)",
        &names,
        &colours,
        &cpu,
    )?;
    root.present()?;
    Ok(())
}

fn colour(pair: Pair) -> RGBColor {
    match pair {
        Pair::Quinn => RGBColor(230, 140, 30),
        Pair::Lab(s, r) if s.name() == "gso" || r.name() == "gro" => RGBColor(40, 150, 80),
        Pair::Lab(..) => RGBColor(40, 100, 180),
    }
}

/// One horizontal bar chart: a bar per pair, a whisker, the value after it.
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    names: &[String],
    colours: &[RGBColor],
    values: &[(f64, f64, f64)],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let last = values.len().saturating_sub(1).max(1) as i32;
    let top = values
        .iter()
        .map(|v| v.2.max(v.0))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.3;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(170)
        .build_cartesian_2d(0.0..top, (0..last).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(values.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => {
                names.get((last - *i) as usize).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .x_labels(5)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .draw()?;
    for (k, (value, low, high)) in values.iter().enumerate() {
        let i = last - k as i32;
        let mut bar = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (*value, SegmentValue::Exact(i + 1)),
            ],
            colours[k].filled(),
        );
        bar.set_margin(5, 5, 0, 0);
        let whisker = PathElement::new(
            vec![
                (*low, SegmentValue::CenterOf(i)),
                (*high, SegmentValue::CenterOf(i)),
            ],
            BLACK.stroke_width(2),
        );
        let label = Text::new(
            format!(" {value:.2}"),
            (high.max(*value), SegmentValue::CenterOf(i)),
            ("sans-serif", 12).into_font(),
        );
        chart.draw_series([bar])?;
        chart.draw_series([whisker])?;
        chart.draw_series([label])?;
    }
    Ok(())
}
