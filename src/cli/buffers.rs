//! `udp-lab buffers`: how many datagrams a receive buffer keeps, measured on
//! loopback for several `SO_RCVBUF` sizes (chapter 08).
//!
//! For each size, a sender blasts `--count` datagrams of `--payload` bytes at
//! a receiver that reads only when the blast is over; one table row per size
//! is printed as soon as it is measured (that is the progress report). With
//! `--plot FILE.svg` the kept count is also drawn against the effective
//! buffer size. Bad input (zero count, oversized payload, a plot file that
//! cannot be written) is one line on stderr and exit code 2, before anything
//! is measured; an error while measuring or writing the plot is exit code 1.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use udp_lab::lab::buffers::{self, Blast, Overflow};
use udp_lab::net::{self, Family};

use super::send::say;
use super::{number_in, Failure, Outcome};

/// The `SO_RCVBUF` sizes measured when `--sizes` is not given: from the
/// minimum to Linux's usual ceiling, so the curve shows both ends.
const DEFAULT_SIZES: [usize; 10] = [
    1, 4096, 16384, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304,
];

/// The largest `--count`: keeps one run to a few seconds per size.
const MAX_COUNT: i64 = 100_000;

/// The largest size a socket option can hold (a C `int`).
const MAX_SIZE: i64 = i32::MAX as i64;

/// The largest payload of any family (IPv6's); IPv4's smaller limit is
/// checked once the family is known.
const MAX_PAYLOAD: i64 = 65_527;

/// Arguments of `udp-lab buffers`.
#[derive(clap::Args)]
pub struct BuffersArgs {
    /// SO_RCVBUF sizes to request, in bytes, comma-separated (each 0 to 2147483647).
    #[arg(long, value_delimiter = ',', value_name = "BYTES,...", default_values_t = DEFAULT_SIZES,
          allow_negative_numbers = true, value_parser = number_in::<usize>(0..=MAX_SIZE))]
    pub sizes: Vec<usize>,
    /// Datagrams blasted at each size (1 to 100000).
    #[arg(long, value_name = "N", default_value_t = 1000,
          allow_negative_numbers = true, value_parser = number_in::<usize>(1..=MAX_COUNT))]
    pub count: usize,
    /// Payload bytes per datagram (0 to 65507; 65527 with --ipv6).
    #[arg(long, value_name = "BYTES", default_value_t = 1000,
          allow_negative_numbers = true, value_parser = number_in::<usize>(0..=MAX_PAYLOAD))]
    pub payload: usize,
    /// Measure on the IPv6 loopback [::1] instead of 127.0.0.1.
    #[arg(long)]
    pub ipv6: bool,
    /// Also draw datagrams kept against the effective buffer size, as an SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// Runs `udp-lab buffers`.
pub fn run(args: &BuffersArgs) -> Outcome {
    let family = if args.ipv6 { Family::V6 } else { Family::V4 };
    check_input(args, family)?;
    let rows = measure_and_print(args, family)?;
    explain(&rows);
    if let Some(path) = &args.plot {
        // The file was writable at the start (check_input): failing now is
        // a failed run, exit code 1, with the table already printed.
        plot(path, &rows, args.payload, family)
            .map_err(|e| Failure::Failed(format!("writing the plot to {}: {e}", path.display())))?;
        say(&format!("plot written to {}", path.display()));
    }
    match rows.iter().find(|r| r.intact != r.kept || r.kept > r.sent) {
        Some(bad) => Err(Failure::Failed(format!(
            "kept datagrams were not exactly the ones sent: {bad:?}"
        ))),
        None => Ok(()),
    }
}

/// The system the figures are measured on, as `uname -sr` names it
/// (`"Linux 6.18.44-generic"`: the kernel's release, as `uname -r` prints
/// it), or the OS's name where there is no `uname` (Windows). A measured
/// figure names its kernel: the tour and `udp-lab buffers` print it.
pub fn this_system() -> String {
    #[cfg(unix)]
    if let Ok(uts) = nix::sys::utsname::uname() {
        return format!(
            "{} {}",
            uts.sysname().to_string_lossy(),
            uts.release().to_string_lossy()
        );
    }
    std::env::consts::OS.to_string()
}

/// Measures every size in turn, printing each row as soon as it is known
/// (the progress report of a long run).
fn measure_and_print(args: &BuffersArgs, family: Family) -> Result<Vec<Overflow>, Failure> {
    say(&format!(
        "measured on {} (this machine): another kernel keeps other numbers",
        this_system()
    ));
    say(&format!(
        "per size: {} datagrams of {} B blasted at an {family} loopback receiver that reads only afterwards",
        args.count, args.payload
    ));
    say(&header());
    let mut rows = Vec::with_capacity(args.sizes.len());
    for &size in &args.sizes {
        let blast = Blast {
            family,
            recv_buffer: Some(size),
            count: args.count,
            payload: args.payload,
        };
        let seen = buffers::measure(&blast).map_err(Failure::during(format!(
            "measuring SO_RCVBUF {size} on {family} loopback"
        )))?;
        // `say` flushes each row at once (the progress of a long run) and
        // never panics on a closed stdout (`udp-lab buffers | head -3`).
        say(&row(&seen));
        if seen.send_errors > 0 {
            say(&format!(
                "{:>12} ({} send_to calls failed: sent counts only those that returned Ok)",
                "", seen.send_errors
            ));
        }
        rows.push(seen);
    }
    Ok(rows)
}

/// Rejects bad input before anything is measured, each with one clear line.
fn check_input(args: &BuffersArgs, family: Family) -> Outcome {
    let usage = |msg: String| Err(Failure::Usage(msg));
    // clap has checked every range that does not depend on the family.
    if args.payload > family.max_payload() {
        return usage(format!(
            "--payload {} is more than one {family} datagram can carry ({} bytes)",
            args.payload,
            family.max_payload()
        ));
    }
    if !net::family_available(family) {
        return usage(format!(
            "{family} loopback {} is not available on this machine",
            family.loopback()
        ));
    }
    if let Some(path) = &args.plot {
        // Fail now, not after a long measurement.
        std::fs::File::create(path).map_err(|e| {
            Failure::Usage(format!("cannot write the plot to {}: {e}", path.display()))
        })?;
    }
    Ok(())
}

fn header() -> String {
    format!(
        "{:>12} {:>12} {:>7} {:>7} {:>7} {:>14} {:>12}",
        "requested B", "effective B", "sent", "kept", "lost %", "RcvbufErrors+", "B per kept"
    )
}

fn row(seen: &Overflow) -> String {
    let counted = seen
        .rcvbuf_errors
        .as_ref()
        .map_or_else(|_| "n/a".to_string(), u64::to_string);
    // When the buffer overflowed, it was full: its size over what it kept is
    // what one datagram really cost (Linux: the skb's truesize).
    let per_kept = if seen.lost() > 0 && seen.kept > 0 {
        (seen.effective / seen.kept).to_string()
    } else {
        "-".into()
    };
    format!(
        "{:>12} {:>12} {:>7} {:>7} {:>7.1} {:>14} {:>12}",
        seen.requested
            .map_or_else(|| "default".to_string(), |r| r.to_string()),
        seen.effective,
        seen.sent,
        seen.kept,
        seen.lost_percent(),
        counted,
        per_kept
    )
}

/// A few closing lines: what the columns mean, and why a counter may be missing.
fn explain(rows: &[Overflow]) {
    say("effective: SO_RCVBUF as the OS reports it (Linux clamps the request to rmem_max, then doubles it);");
    say("RcvbufErrors+: the kernel's count of receive-buffer drops during the blast (all programs' drops);");
    say("B per kept: buffer bytes each kept datagram used up, far more than its payload.");
    if let Some(Err(why)) = rows.first().map(|r| &r.rcvbuf_errors) {
        say(&format!("RcvbufErrors n/a: {why}"));
    }
}

/// Draws kept datagrams against the effective buffer size (log scale) and
/// writes the SVG to `path`.
fn plot(
    path: &Path,
    rows: &[Overflow],
    payload: usize,
    family: Family,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut svg = String::new();
    draw(&mut svg, rows, payload, family)?;
    // Written here, not by plotters' file backend: that one flushes its
    // last bytes when dropped and loses the error of a full disk.
    std::fs::write(path, svg)?;
    Ok(())
}

/// Draws the chart of [`plot`] into `svg`.
fn draw(
    svg: &mut String,
    rows: &[Overflow],
    payload: usize,
    family: Family,
) -> Result<(), Box<dyn std::error::Error>> {
    let sent = rows.iter().map(|r| r.sent).max().unwrap_or(1).max(1);
    let smallest = rows.iter().map(|r| r.effective).min().unwrap_or(1).max(1);
    let largest = rows
        .iter()
        .map(|r| r.effective)
        .max()
        .unwrap_or(1)
        .max(smallest * 2);
    let points: Vec<(usize, usize)> = rows.iter().map(|r| (r.effective, r.kept)).collect();

    let root = SVGBackend::with_string(svg, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let caption = format!("Datagrams kept of {sent} x {payload} B blasted ({family} loopback)");
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((smallest / 2..largest * 2).log_scale(), 0..sent + sent / 10)?;
    chart
        .configure_mesh()
        .x_desc("effective SO_RCVBUF (log scale)")
        .y_desc("datagrams kept")
        .x_label_formatter(&|bytes| size_label(*bytes))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(smallest / 2, sent), (largest * 2, sent)],
            RED.stroke_width(1),
        ))?
        .label("sent")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(points.clone(), BLUE.stroke_width(2)))?
        .label("kept")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE));
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// A byte count as a short axis label in decimal units, to match the log
/// scale's ticks at powers of ten: 10000 -> "10 kB", 1000000 -> "1 MB".
fn size_label(bytes: usize) -> String {
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_999 => format!("{} kB", bytes as f64 / 1e3),
        _ => format!("{} MB", bytes as f64 / 1e6),
    }
}
