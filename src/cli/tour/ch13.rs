//! Tour block for chapter 13: every concurrency model serves the same
//! clients correctly; they differ only in how many threads and sockets
//! they use (and in speed, which `udp-lab bench` measures: not shown here).

use udp_lab::lab::load::{self, Length, Load};
use udp_lab::lab::server::models::{self, Model};
use udp_lab::lab::server::Reply;
use udp_lab::net::Family;

use super::Report;

/// A small load: 10 lock-step clients x 3 requests, every reply checked.
const LOAD: Load = Load {
    clients: 10,
    length: Length::Rounds(3),
    payload: 16,
    timeout: std::time::Duration::from_secs(2),
    thread_per_client: false,
    poll_threads: 0,
};

/// Runs the small load against each model and reports what each used.
pub fn demo() -> std::io::Result<Report> {
    let mut lines = Vec::new();
    let mut held = true;
    let expected = (LOAD.clients * 3) as u64;
    for model in Model::ALL {
        if model == Model::ReusePort && !cfg!(unix) {
            lines.push("reuseport: skipped, this OS has no SO_REUSEPORT".to_string());
            continue;
        }
        if let Err(why) = model.built() {
            lines.push(format!("{model}: skipped, {why}"));
            continue;
        }
        let server = models::spawn(Family::V4.any_port(), model, Reply::Upper)?;
        let run = load::run(server.local_addr(), &LOAD)?;
        let receivers = receivers_of(model, server.worker_stats().len());
        let stats = server.shutdown();
        held &= run.requests == expected && run.failures() == 0;
        lines.push(format!(
            "{model:<20} {}/{expected} replies right and from the server's address; \
             {receivers}, {} handler threads started",
            run.requests, stats.threads_spawned
        ));
    }
    lines.push("speed: `udp-lab bench --model all` (chapter 13)".to_string());
    Ok(Report { lines, held })
}

/// Who receives, in words. `tokio-multi` has one OS thread of its own (it
/// owns the runtime and one shared counter set) while its N tasks receive
/// on the runtime's N worker threads, so its thread count would mislead.
fn receivers_of(model: Model, threads: usize) -> String {
    if model == Model::TokioMulti {
        let n = models::default_workers();
        format!("{n} receiving tasks on {n} tokio worker threads, one shared counter set")
    } else {
        format!("{threads} receiving thread(s)")
    }
}
