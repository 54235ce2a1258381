//! What `udp-lab bench` prints: a table for people (plain or Markdown) and
//! an SVG chart, from the same [`Report`] the JSON of `json.rs` is made of.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use udp_lab::lab::load::{self, Latency, Length, Load};

use super::machine::Machine;
use super::summary::Summary;

/// A finished bench run.
pub struct Report {
    pub machine: Machine,
    pub command: String,
    pub load: Load,
    pub repeat: usize,
    pub summaries: Vec<Summary>,
}

/// `183,412`: requests/s rounded, with thousands separators.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency in milliseconds, three decimals (microsecond resolution).
fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn load_words(load: &Load) -> String {
    let length = length_words(load);
    format!(
        "{} lock-step clients x {length} ({}), {}-byte requests, every reply checked (content and source)",
        load.clients,
        driver_words(load),
        load.payload
    )
}

/// How long the load lasted: "10 rounds" or "3 s".
fn length_words(load: &Load) -> String {
    match load.length {
        Length::Rounds(n) => format!("{n} rounds"),
        Length::For(d) => format!("{} s", d.as_secs_f64()),
    }
}

/// How the clients were driven: it decides how much CPU the load takes.
fn driver_words(load: &Load) -> String {
    let Some(threads) = poll_threads(load) else {
        return "one thread per client".to_string();
    };
    let s = if threads == 1 { "" } else { "s" };
    format!("polled by {threads} thread{s}")
}

/// How many threads polled the client sockets, or `None` when each client
/// had its own thread.
pub fn poll_threads(load: &Load) -> Option<usize> {
    if load.thread_per_client || cfg!(not(unix)) {
        return None;
    }
    let threads = match load.poll_threads {
        0 => load::default_poll_threads(),
        n => n,
    };
    Some(threads.min(load.clients))
}

/// `3.9 µs`: a server's CPU time per request, or `–` when not measured.
fn cpu_words(s: &Summary) -> String {
    s.server_cpu_per_request().map_or_else(
        || "–".to_string(),
        |d| format!("{:.1} µs", d.as_secs_f64() * 1e6),
    )
}

fn machine_words(m: &Machine) -> String {
    let load = m
        .load_average
        .map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}"));
    format!(
        "{}, {} CPUs, {}; load average {load} at the start",
        m.cpu, m.cpus, m.os
    )
}

impl Report {
    /// The median rate of the contender named `prefix...`, if it ran.
    fn rate_of(&self, prefix: &str) -> Option<f64> {
        self.summaries
            .iter()
            .find(|s| s.name.starts_with(prefix))
            .map(Summary::rate)
            .filter(|r| *r > 0.0)
    }

    /// Whether any contender's CPU time was measured (a column then).
    fn has_cpu(&self) -> bool {
        self.summaries
            .iter()
            .any(|s| s.server_cpu_per_request().is_some())
    }

    /// `1.23x`: how many times `baseline` the rate of `s` is.
    fn ratio(s: &Summary, baseline: Option<f64>) -> Option<String> {
        baseline.map(|b| format!("{:.2}x", s.rate() / b))
    }

    /// A plain table for a terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "load: {}", load_words(&self.load));
        let _ = writeln!(
            out,
            "repetitions: {}, interleaved; figures are medians",
            self.repeat
        );
        let _ = writeln!(out, "machine: {}", machine_words(&self.machine));
        let cpu = self.has_cpu();
        let _ = write!(
            out,
            "{:<22} {:>12} {:>21} {:>10} {:>10} {:>10} {:>10} {:>9}",
            "server", "requests/s", "min - max", "p50", "p90", "p99", "max", "failures"
        );
        let _ = writeln!(out, "{}", if cpu { "  server CPU/request" } else { "" });
        for s in &self.summaries {
            let (low, high) = s.rate_range();
            let lat = |pick: fn(&Latency) -> Duration| ms(s.latency(pick));
            let _ = write!(
                out,
                "{:<22} {:>12} {:>21} {:>10} {:>10} {:>10} {:>10} {:>9}",
                s.name,
                thousands(s.rate()),
                format!("{} - {}", thousands(low), thousands(high)),
                lat(|l| l.p50),
                lat(|l| l.p90),
                lat(|l| l.p99),
                lat(|l| l.max),
                s.failures()
            );
            let _ = writeln!(
                out,
                "{}",
                if cpu {
                    format!("  {:>19}", cpu_words(s))
                } else {
                    String::new()
                }
            );
        }
        out
    }

    /// A Markdown table, with a caption saying what, where and how.
    pub fn markdown(&self) -> String {
        let bare = self.rate_of("bare");
        let python = self.rate_of("python");
        let mut head = vec!["server", "requests/s (median)", "min – max"];
        head.extend(bare.map(|_| "vs bare"));
        head.extend(python.map(|_| "vs Python"));
        head.extend(["p50", "p90", "p99", "max", "failures"]);
        let cpu = self.has_cpu();
        head.extend(cpu.then_some("server CPU/request"));
        let mut out = format!("| {} |\n", head.join(" | "));
        let align: Vec<&str> = head
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---" } else { "--:" })
            .collect();
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for s in &self.summaries {
            let (low, high) = s.rate_range();
            let mut row = vec![
                format!("`{}`", s.name),
                thousands(s.rate()),
                format!("{} – {}", thousands(low), thousands(high)),
            ];
            row.extend(Self::ratio(s, bare));
            row.extend(Self::ratio(s, python));
            row.extend([
                ms(s.latency(|l| l.p50)),
                ms(s.latency(|l| l.p90)),
                ms(s.latency(|l| l.p99)),
                ms(s.latency(|l| l.max)),
                s.failures().to_string(),
            ]);
            row.extend(cpu.then(|| cpu_words(s)));
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let _ = writeln!(
            out,
            "\n{}; medians of {} interleaved repetitions. Machine: {}. Command: `{}`",
            load_words(&self.load),
            self.repeat,
            machine_words(&self.machine),
            self.command
        );
        out
    }
}

/// The colour of a contender's bars: the baseline grey, Python orange,
/// the project's models blue.
fn colour(name: &str) -> RGBColor {
    if name == "bare" {
        RGBColor(140, 140, 140)
    } else if name.starts_with("python") {
        RGBColor(230, 140, 30)
    } else {
        RGBColor(40, 100, 180)
    }
}

/// Draws two bar charts side by side into an SVG file: requests/s (median,
/// with the min-max spread as a whisker) and p99 latency.
pub fn plot(report: &Report, path: &Path) -> Result<(), String> {
    let mut svg = String::new();
    draw(&mut svg, report)?;
    // Written here, not by plotters' file backend: that one flushes its
    // last bytes when dropped and loses the error of a full disk.
    std::fs::write(path, svg).map_err(|e| e.to_string())
}

/// Draws the charts of [`plot`] into `svg`.
fn draw(svg: &mut String, report: &Report) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, (1000, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(
            &format!(
                "udp-lab bench: {} (medians of {})",
                short_load(&report.load),
                report.repeat
            ),
            ("sans-serif", 18),
        )
        .map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(540);
    let rates: Vec<(f64, f64, f64)> = report
        .summaries
        .iter()
        .map(|s| {
            let (low, high) = s.rate_range();
            (s.rate(), low, high)
        })
        .collect();
    bars(&left, report, "requests/s (higher is better)", &rates)?;
    let p99: Vec<(f64, f64, f64)> = report
        .summaries
        .iter()
        .map(|s| {
            let v = s.latency(|l| l.p99).as_secs_f64() * 1e3;
            (v, v, v)
        })
        .collect();
    bars(&right, report, "p99 latency, ms (lower is better)", &p99)?;
    root.present().map_err(|e| e.to_string())
}

/// The load in a chart title: size, length and how the clients were driven
/// (the driver decides how much CPU is left for the server).
fn short_load(load: &Load) -> String {
    let length = length_words(load);
    format!(
        "{} clients x {length}, {}",
        load.clients,
        driver_words(load)
    )
}

/// One horizontal bar chart: a bar per contender at its value, a whisker
/// from low to high, the value written after it.
fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    report: &Report,
    caption: &str,
    values: &[(f64, f64, f64)],
) -> Result<(), String> {
    // A segmented 0..=last range has last + 1 segments: one per contender,
    // the first at the top (a single contender gets an empty one below it,
    // as 0..=0 would be an empty axis).
    let last = values.len().saturating_sub(1).max(1) as i32;
    let top = values.iter().map(|v| v.2).fold(0.0, f64::max).max(1e-9) * 1.3;
    let big = top > 1000.0;
    let show = move |v: f64| if big { thousands(v) } else { format!("{v:.3}") };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(150)
        .build_cartesian_2d(0.0..top, (0..last).into_segmented())
        .map_err(|e| e.to_string())?;
    let names: Vec<&str> = report.summaries.iter().map(|s| s.name.as_str()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(values.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names
                .get((last - *i) as usize)
                .map_or(String::new(), |s| s.to_string()),
            _ => String::new(),
        })
        .x_labels(5)
        .x_label_formatter(&|v| show(*v))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (value, low, high)) in values.iter().enumerate() {
        let style = colour(names[k]).filled();
        let i = last - k as i32;
        let mut bar = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(i)),
                (*value, SegmentValue::Exact(i + 1)),
            ],
            style,
        );
        bar.set_margin(6, 6, 0, 0);
        let whisker = PathElement::new(
            vec![
                (*low, SegmentValue::CenterOf(i)),
                (*high, SegmentValue::CenterOf(i)),
            ],
            BLACK.stroke_width(2),
        );
        let label = Text::new(
            format!(" {}", show(*value)),
            (high.max(*value), SegmentValue::CenterOf(i)),
            ("sans-serif", 12).into_font(),
        );
        chart.draw_series([bar]).map_err(|e| e.to_string())?;
        chart.draw_series([whisker]).map_err(|e| e.to_string())?;
        chart.draw_series([label]).map_err(|e| e.to_string())?;
    }
    Ok(())
}
