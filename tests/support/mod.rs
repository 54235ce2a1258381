//! Test-only support shared by the chapter files: running Python peers (the
//! project's own in `tests/peers/`, and the article's own programs in
//! `../shared/seed/python/` when that folder exists).
//!
//! python3 absent: a test that needs it prints why it is skipped and returns,
//! except when `CI=true`, where a missing python3 is a failure (CI installs it).

// Each test file uses a different part of this module; the rest is not dead.
#![allow(dead_code)]

pub mod cli;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use udp_lab::net::Family;

/// How long a Python peer may take to start or to finish its run.
pub const PYTHON_DEADLINE: Duration = Duration::from_secs(60);

/// The python3 interpreter, or `None` (with a printed reason) when this
/// machine has none. Under `CI=true` a missing python3 fails the test.
pub fn python3() -> Option<&'static str> {
    let found = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("python3");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "python3 is required under CI=true: the interop tests run the article's Python peers"
    );
    println!("skipped: python3 is not installed, so the Python peers cannot run here");
    None
}

/// The project's own Python peers, in the article's style.
pub fn peer(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script)
}

/// The article's own program `script`, when `../shared/seed/python` exists
/// beside the project (it does not in a student's clone: then `None`, with a
/// printed reason).
pub fn seed(script: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/seed/python")
        .join(script);
    if path.exists() {
        Some(path)
    } else {
        println!(
            "skipped: the article's programs are not beside this clone ({} is absent)",
            path.display()
        );
        None
    }
}

/// A Python server running as a child process; killed when dropped.
pub struct PyServer {
    child: Child,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The readiness probe, kept open until the server is gone.
    _probe: Option<UdpSocket>,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one of the project's peers (`tests/peers/`), which bind port 0 and
/// print `listening on ADDR` first: that line tells where it listens.
pub fn start_peer_server(python: &str, script: &str, family: Family) -> PyServer {
    let mut child = Command::new(python)
        .arg(peer(script))
        .arg(family.loopback().to_string())
        .arg("0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {script} with {python}: {e}"));
    let stdout = child.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel();
    // Read the first line, then keep draining so the server never blocks on a full pipe.
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let first = rx.recv_timeout(PYTHON_DEADLINE);
    let line = match first {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            panic!("{script} did not print its 'listening on ADDR' line within {PYTHON_DEADLINE:?}: {other:?}");
        }
    };
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{script} printed {line:?}, expected 'listening on ADDR'"));
    PyServer {
        child,
        addr,
        _probe: None,
    }
}

/// Starts `script` as a Python server: the article's own file when `origin`
/// is `"article"` (IPv4 only, as the article wrote it), else the project's
/// copy in `tests/peers/` on `family`. `None` (with a printed reason) when
/// that server cannot run here: the article's files are absent, or `family`
/// is unavailable.
pub fn start_python_server(
    python: &str,
    origin: &str,
    script: &str,
    family: Family,
) -> Option<PyServer> {
    match origin {
        "article" => seed(script).map(|path| start_seed_server(python, &path)),
        _ if !udp_lab::net::require(family) => None,
        _ => Some(start_peer_server(python, script, family)),
    }
}

/// Starts one of the article's own servers, which take a port argument and
/// print nothing when ready.
///
/// The port is a free one *below* the OS's ephemeral range (which starts at
/// 32768 on Linux): a port-0 bind of another test running in parallel can
/// never be handed it in the moment between our check and Python's bind. If
/// Python still fails to bind (another explicit bind won), a new port is tried.
pub fn start_seed_server(python: &str, script: &Path) -> PyServer {
    for _ in 0..5 {
        let Ok(port) = udp_lab::net::free_port_below_ephemeral_range() else {
            continue;
        };
        let child = Command::new(python)
            .arg(script)
            .arg("127.0.0.1")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
        let mut server = PyServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _probe: None,
        };
        if wait_until_serving(&mut server) {
            return server;
        }
    }
    panic!(
        "{} never answered on any of 5 ports within {PYTHON_DEADLINE:?}",
        script.display()
    );
}

/// Sends a probe until the server answers (a started process is not yet a
/// bound socket, and UDP gives no other sign of readiness); `false` when the
/// process ended instead (it could not bind). The probe socket stays open in
/// `server` so that a late reply to a probe never lands on another test's socket.
fn wait_until_serving(server: &mut PyServer) -> bool {
    let probe = UdpSocket::bind(Family::V4.any_port()).expect("binding the readiness probe");
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("setting the probe's timeout");
    let attempts = PYTHON_DEADLINE.as_millis() / 200;
    for _ in 0..attempts {
        if !matches!(server.child.try_wait(), Ok(None)) {
            return false;
        }
        let _ = probe.send_to(b"ready?", server.addr);
        let mut buf = [0u8; 1024];
        if probe.recv_from(&mut buf).is_ok() {
            server._probe = Some(probe);
            return true;
        }
    }
    false
}

/// Runs a Python client to completion (killed after [`PYTHON_DEADLINE`]) and
/// returns its output.
pub fn run_client(python: &str, script: &Path, args: &[String]) -> Output {
    output_within(
        Command::new(python).arg(script).args(args),
        PYTHON_DEADLINE,
        &script.display().to_string(),
    )
}

/// Runs `command` to completion with stdout and stderr captured, and returns
/// its output. After `deadline` it is killed (`kill -KILL`) and the test
/// fails: a child that hangs is a failure, never a hung test. `what` names
/// the command in the messages.
#[track_caller]
pub fn output_within(command: &mut Command, deadline: Duration, what: &str) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    // The wait runs in a thread so that this one can stop waiting at the deadline.
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(deadline) {
        Ok(output) => output.unwrap_or_else(|e| panic!("waiting for {what}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "{what} did not finish within {deadline:?}, so it was killed: it must never hang"
            );
        }
    }
}

/// The host and port arguments the Python programs take for `addr`.
pub fn host_port(addr: SocketAddr) -> [String; 2] {
    [addr.ip().to_string(), addr.port().to_string()]
}
