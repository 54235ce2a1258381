//! `udp-lab lab up | down | status` and the cleanup guarantee of the test
//! hosts (`udp_lab::lab::hosts`): a lab is removed when its test panics,
//! `lab down` removes what a killed process left behind, and `lab up`
//! builds hosts with the links' MTUs that `lab status` shows.
//!
//! Root and Linux only: each test skips with a printed reason elsewhere
//! (`hosts::require()`; a failure under `CI=true`, which runs as root).
//!
//! Run: `cargo test --test cli_lab`

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serial_test::file_serial;
use support::cli::{run, stderr_of, stdout_of, udp_lab};
use support::process::{exact_test_name, output_within, DEADLINE};
use udp_lab::lab::hosts::capture;
use udp_lab::lab::hosts::{self, Host, Lab};

/// The environment variable that makes [`holder_that_panics_while_holding_a_lab`] run.
const HOLDER: &str = "UDP_LAB_TEST_PANICKING_HOLDER";

/// Runs `udp-lab lab down` when dropped: a `lab up` test that fails
/// half-way leaves no hosts for the next one.
struct DownOnDrop;

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = run(&["lab", "down"]);
    }
}

/// Not a test of its own: run by the test below in a child process, it
/// builds a lab, prints its namespaces and panics while holding it.
#[test]
#[ignore = "run by a_test_that_panics_while_holding_a_lab_leaves_no_namespace_behind"]
fn holder_that_panics_while_holding_a_lab() {
    if std::env::var_os(HOLDER).is_none() {
        return;
    }
    let lab = Lab::routed(1500, 1280).expect("build the hosts");
    for host in lab.hosts() {
        println!("holding {}", host.netns);
    }
    panic!("a failing test, with its lab still alive");
}

#[test]
fn a_test_that_panics_while_holding_a_lab_leaves_no_namespace_behind() {
    if !hosts::require() {
        return;
    }
    let exe = std::env::current_exe().expect("this test binary's path");
    let holder = exact_test_name(module_path!(), "holder_that_panics_while_holding_a_lab");
    let mut child = Command::new(exe);
    child
        .args([
            holder.as_str(),
            "--exact",
            "--include-ignored",
            "--nocapture",
        ])
        .env(HOLDER, "1");
    let out = output_within(&mut child, DEADLINE, "the panicking holder");

    let held: Vec<String> = stdout_of(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("holding ").map(str::to_string))
        .collect();
    assert!(
        !out.status.success(),
        "the holder test panics, so it fails: {out:?}"
    );
    assert_eq!(
        held.len(),
        3,
        "the holder printed its three namespaces: {}",
        stdout_of(&out)
    );
    let left: Vec<String> = hosts::existing()
        .expect("ip netns list")
        .into_iter()
        .filter(|n| held.contains(n))
        .collect();
    assert!(
        left.is_empty(),
        "the lab's namespaces {held:?} were removed when the panic unwound through its Drop; still there: {left:?}"
    );
}

#[test]
#[file_serial(lab_up)] // `lab down` removes the `lab up` hosts too
fn lab_down_removes_the_namespaces_of_a_process_that_is_gone() {
    if !hosts::require() {
        return;
    }
    let mut gone = Command::new("true").spawn().expect("start `true`");
    let pid = gone.id();
    gone.wait().expect("`true` ends");
    let name = format!("udplab-{pid}-0-a");
    let added = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .expect("run ip");
    assert!(added.success(), "ip netns add {name}");

    let out = run(&["lab", "down"]);

    assert!(
        out.status.success(),
        "lab down exits 0: {}",
        stderr_of(&out)
    );
    let still = hosts::existing().expect("ip netns list");
    assert!(
        !still.contains(&name),
        "{name} belongs to process {pid}, which has ended: lab down removes it ({})",
        stdout_of(&out)
    );
}

#[test]
#[file_serial(lab_up)] // one `udplab-up-` lab per machine
fn lab_up_builds_the_links_with_their_mtus_and_lab_down_removes_them() {
    if !hosts::require() {
        return;
    }
    let _down = DownOnDrop;
    let up = run(&["lab", "up", "--mtu", "9000", "--router-mtu", "1280"]);
    let status = run(&["lab", "status"]);
    let down = run(&["lab", "down"]);
    let after = hosts::existing().expect("ip netns list");

    assert!(up.status.success(), "lab up exits 0: {}", stderr_of(&up));
    assert!(
        status.status.success(),
        "lab status exits 0, even when another test's lab goes away while it lists: {}",
        stderr_of(&status)
    );
    let status = stdout_of(&status);
    for expected in [
        "udplab-up-a",
        "udplab-up-r",
        "udplab-up-b",
        "mtu 9000",
        "mtu 1280",
        "198.51.100.2/24",
    ] {
        assert!(
            status.contains(expected),
            "lab status shows {expected:?}: {status}"
        );
    }
    assert!(
        down.status.success(),
        "lab down exits 0: {}",
        stderr_of(&down)
    );
    assert!(
        after.iter().all(|n| !n.starts_with(hosts::UP_PREFIX)),
        "lab down removes the lab up hosts; left: {after:?}"
    );
}

/// A file in /run/netns bound to no namespace: what `ip netns add` leaves
/// for a moment before its bind mount, and `ip netns del` after its
/// unmount. Named as this process's, so no `lab down` removes it meanwhile;
/// removed when dropped.
struct HalfMadeNamespace(std::path::PathBuf);

impl Drop for HalfMadeNamespace {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn lab_status_shows_a_half_made_namespace_and_still_exits_0() {
    if !hosts::require() {
        return;
    }
    let name = format!("{}{}-half-made", hosts::PREFIX, std::process::id());
    let half = HalfMadeNamespace(std::path::Path::new("/run/netns").join(&name));
    std::fs::create_dir_all("/run/netns").expect("create /run/netns");
    std::fs::write(&half.0, b"").expect("create a file in /run/netns");

    let status = run(&["lab", "status"]);

    assert!(
        status.status.success(),
        "lab status exits 0 when a namespace cannot be entered because it is half made or half \
         removed: tests make and remove namespaces all the time, and one caught half-way is \
         not an error: {}",
        stderr_of(&status)
    );
    let shown = stdout_of(&status);
    assert!(
        shown.contains(&name) && shown.contains("half done"),
        "lab status lists {name} and says `ip netns add` or `del` is half done: {shown}"
    );
}

#[test]
fn lab_up_refuses_an_mtu_below_576_in_one_line() {
    let out = run(&["lab", "up", "--mtu", "100"]);
    assert_eq!(out.status.code(), Some(2), "bad input exits 2: {out:?}");
    assert!(
        stderr_of(&out).contains("--mtu"),
        "clap names the flag: {}",
        stderr_of(&out)
    );
}

#[test]
#[file_serial(lab_up)] // one `udplab-up-` lab per machine
fn lab_capture_writes_a_pcap_with_the_two_fragments_of_a_1473_byte_datagram() {
    if !hosts::require() {
        return;
    }
    let _down = DownOnDrop;
    let up = run(&["lab", "up", "--mtu", "1500"]);
    assert!(up.status.success(), "lab up exits 0: {}", stderr_of(&up));
    let pcap = tempfile::NamedTempFile::new().expect("a temporary pcap file");
    let path = pcap.path().to_str().expect("a UTF-8 temporary path");
    let mut capturing = udp_lab()
        .args([
            "lab",
            "capture",
            "eth0",
            "--netns",
            "udplab-up-b",
            "--pcap",
            path,
        ])
        .args(["--ipv4-only", "--count", "2", "--seconds", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start udp-lab lab capture");
    let mut stdout = BufReader::new(capturing.stdout.take().expect("piped"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("its first line");

    let (a, b) = (Host::existing("udplab-up-a"), Host::existing("udplab-up-b"));
    let receiver = b
        .bind("192.0.2.2:0".parse().expect("b's address"))
        .expect("bind on b");
    let sender = a
        .bind("192.0.2.1:0".parse().expect("a's address"))
        .expect("bind on a");
    sender
        .send_to(&[b'x'; 1473], receiver.local_addr().expect("b"))
        .expect("send 1473 bytes");
    let status = capturing
        .wait()
        .expect("lab capture ends after 2 frames (or 10 s)");
    let frames = capture::read_pcap(pcap.path());

    assert!(
        first.starts_with("capturing on eth0 in udplab-up-b"),
        "it says when it records: {first:?}"
    );
    assert!(status.success(), "lab capture exits 0: {status:?}");
    let fragments: Vec<_> = frames
        .expect("a pcap file")
        .iter()
        .filter_map(|f| capture::ipv4_fragment(f))
        .collect();
    let shape: Vec<(bool, usize, usize)> = fragments
        .iter()
        .map(|&(_, more, at, len)| (more, at, len))
        .collect();
    assert_eq!(
        shape,
        [(true, 0, 1480), (false, 1480, 1)],
        "the pcap holds both fragments: {fragments:?}"
    );
}
