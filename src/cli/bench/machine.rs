//! Where a measurement ran and what it cost the server: the [`Machine`]
//! (CPU, OS, load average) printed next to the figures, and the CPU time of
//! a server running as a child process ([`process_cpu_time`]), which says
//! how cheaply a model serves whatever share of the machine it got.

use std::fs;
use std::thread;
use std::time::Duration;

/// CPU time (user + system, all threads, including those that have
/// ended) that process `pid` has used so far.
///
/// # Platform-specific behavior
///
/// Linux: read from `/proc/PID/stat` (fields 14 and 15, in clock ticks of
/// `sysconf(_SC_CLK_TCK)`, usually 10 ms). Elsewhere, and when the file
/// cannot be read or parsed: `None`.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from after its closing parenthesis (field 3 onwards).
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks_per_second = clock_ticks_per_second()?;
    Some(Duration::from_secs_f64(
        (user + system) as f64 / ticks_per_second as f64,
    ))
}

/// How many clock ticks `/proc/PID/stat` counts per second (`CLK_TCK`).
#[cfg(unix)]
fn clock_ticks_per_second() -> Option<u64> {
    use nix::unistd::{sysconf, SysconfVar};
    let ticks = sysconf(SysconfVar::CLK_TCK).ok()??;
    u64::try_from(ticks).ok().filter(|&t| t > 0)
}

/// No `CLK_TCK` outside Unix.
#[cfg(not(unix))]
fn clock_ticks_per_second() -> Option<u64> {
    None
}

/// The machine a measurement ran on, for the record next to the figures
/// (serialized as is into `bench --json`'s `machine`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Machine {
    /// The CPU model (Linux: `/proc/cpuinfo`), or "unknown CPU".
    pub cpu: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// OS and kernel release (`Linux 6.1.0-...`).
    pub os: String,
    /// The 1-minute load average when the measurement started (Linux), or
    /// `None`: above ~0.5 other work was competing for the CPUs.
    pub load_average: Option<f64>,
}

impl Machine {
    /// This machine, now.
    pub fn this() -> Machine {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, name)| name.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".to_string());
        let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let load_average = fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next()?.parse().ok());
        Machine {
            cpu,
            cpus: thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{} {}", std::env::consts::OS, release.trim())
                .trim()
                .to_string(),
            load_average,
        }
    }
}
