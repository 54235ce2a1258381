//! `udp-lab doctor`, run as a student runs it: what this machine supports,
//! and which test cases will skip here. Its JSON is parsed, its table read,
//! and `UDP_LAB_PRETEND_NO_IPV6=1` plays a machine without IPv6 loopback.
//!
//! Run: `cargo test --test cli_doctor`

mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::process::output_within;
use udp_lab::net;

/// How long one `udp-lab doctor` may take (it runs a few tiny programs).
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `udp-lab doctor ARGS` on this machine as it is (without
/// `UDP_LAB_PRETEND_NO_IPV6` unless `env` sets it), to completion under
/// [`DEADLINE`] (killed after it: a hung doctor is a failure, not a hung test).
#[track_caller]
fn doctor(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_udp-lab"));
    command.env_remove(net::PRETEND_NO_IPV6);
    for (key, value) in env {
        command.env(key, value);
    }
    run_doctor(command, args)
}

/// Runs `udp-lab doctor ARGS` in `command`'s environment.
#[track_caller]
fn run_doctor(mut command: Command, args: &[&str]) -> Output {
    command.arg("doctor").args(args);
    let what = format!("udp-lab doctor {args:?}");
    output_within(command.stdin(Stdio::null()), DEADLINE, &what)
}

/// Runs `udp-lab doctor --json` and parses its report; it must exit 0.
#[track_caller]
fn report(env: &[(&str, &str)]) -> Value {
    parse(doctor(&["--json"], env))
}

/// The report of a `udp-lab doctor --json` run, which must have exited 0.
#[track_caller]
fn parse(output: Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "expected exit code 0 (IPv4 loopback works here), got {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("expected one JSON object on stdout ({e}), got:\n{stdout}"))
}

/// The check named `name` in a report.
#[track_caller]
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("\"checks\" is an array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("expected a check named {name:?} in {report:#}"))
}

/// Every case the report lists as skipping because of `because`, as `file::case`.
fn skipping(report: &Value, because: &str) -> Vec<String> {
    let mut cases = Vec::new();
    for skip in report["skips"].as_array().expect("\"skips\" is an array") {
        if skip["because"] == because {
            let file = skip["file"].as_str().expect("a file name");
            for case in skip["cases"].as_array().expect("\"cases\" is an array") {
                cases.push(format!("{file}::{}", case.as_str().expect("a case name")));
            }
        }
    }
    cases
}

#[test]
fn doctor_reports_the_kernel_that_uname_reports() {
    if cfg!(windows) {
        return net::skip_even_under_ci("Windows has no uname; doctor reports `ver` there");
    }
    let uname = Command::new("uname")
        .arg("-sr")
        .output()
        .expect("run uname -sr");
    let expected = String::from_utf8_lossy(&uname.stdout).trim().to_string();

    let json = report(&[]);
    let table = String::from_utf8_lossy(&doctor(&[], &[]).stdout).into_owned();

    assert_eq!(
        json["kernel"], expected,
        "expected the JSON's kernel to be what `uname -sr` prints"
    );
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with("kernel") && l.trim_end().ends_with(&expected)),
        "expected a table line 'kernel  {expected}', got:\n{table}"
    );
}

#[test]
fn doctor_exits_0_with_ipv4_loopback_ok_the_one_check_the_course_needs() {
    let json = report(&[]);
    let ipv4 = check(&json, "ipv4_loopback");

    assert_eq!(
        (&ipv4["status"], &ipv4["needed"]),
        (&Value::from("ok"), &Value::from(true)),
        "expected IPv4 loopback ok and needed: {ipv4}"
    );
    assert_eq!(
        json["course_can_run"], true,
        "expected the course to be able to run here"
    );
    let needed: Vec<&Value> = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["needed"] == true)
        .map(|c| &c["name"])
        .collect();
    assert_eq!(
        needed,
        [&Value::from("ipv4_loopback")],
        "expected IPv4 loopback to be the only check whose failure fails doctor"
    );
    for c in json["checks"].as_array().expect("checks") {
        assert!(
            ["ok", "missing", "not_on_this_os"].contains(&c["status"].as_str().unwrap_or("")),
            "expected every status to be ok, missing or not_on_this_os, got {c}"
        );
    }
}

#[test]
fn doctor_reports_every_check_the_course_asks_about() {
    let json = report(&[]);
    for name in [
        "ipv4_loopback",
        "ipv6_loopback",
        "python3",
        "proc_net_snmp",
        "proc_net_udp",
        "rmem_max",
        "wmem_max",
        "so_reuseport",
        "user_net_namespaces",
        "private_netns",
        "udp_gso",
        "udp_gro",
        "mdbook",
        "cargo_nextest",
    ] {
        check(&json, name);
    }
    if cfg!(target_os = "linux") {
        let rmem = check(&json, "rmem_max")["detail"].as_str().unwrap_or("");
        let wmem = check(&json, "wmem_max")["detail"].as_str().unwrap_or("");
        assert!(
            rmem.contains("4 MiB since Linux 6.18") && rmem.contains("212992"),
            "expected the rmem_max line to say the default changed in Linux 6.18, got {rmem:?}"
        );
        assert!(
            !wmem.contains("6.18"),
            "expected the note on rmem_max only (wmem_max's default did not change), got {wmem:?}"
        );
    }
    if cfg!(unix) {
        let reuse = check(&json, "so_reuseport");
        assert_eq!(
            reuse["status"], "ok",
            "expected SO_REUSEPORT to work on every Unix the course runs on (ch13 needs it): {reuse}"
        );
    }
}

/// What `program ARGS` prints first when it succeeds, as the test sees it.
fn first_line_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    let text = String::from_utf8_lossy(&text);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

#[test]
fn doctor_finds_python3_and_namespaces_as_this_test_finds_them() {
    let json = report(&[]);
    let python = check(&json, "python3");

    match first_line_of("python3", &["--version"]) {
        Some(version) => assert_eq!(
            (&python["status"], &python["detail"]),
            (&Value::from("ok"), &Value::from(version.as_str())),
            "expected python3 ok with the version `python3 --version` prints here"
        ),
        None => assert_eq!(
            python["status"], "missing",
            "expected python3 missing: `python3 --version` does not run here"
        ),
    }
    if cfg!(target_os = "linux") {
        let namespaces = check(&json, "user_net_namespaces");
        let works = Command::new("unshare")
            .args(["-rn", "true"])
            .output()
            .is_ok_and(|o| o.status.success());
        let root = first_line_of("id", &["-u"]).is_some_and(|uid| uid == "0");
        let detail = namespaces["detail"].as_str().unwrap_or("");
        assert_eq!(
            namespaces["status"],
            if works { "ok" } else { "missing" },
            "expected doctor's verdict on `unshare -rn true` to be this test's: {namespaces}"
        );
        assert_eq!(
            detail.contains("as root"),
            root,
            "expected the detail to say whether it ran as root (id -u is 0: {root}), got {detail:?}"
        );
    }
}

#[test]
fn without_ipv6_doctor_reports_it_missing_and_lists_the_ipv6_cases_as_skipping() {
    let json = report(&[(net::PRETEND_NO_IPV6, "1")]);
    let ipv6 = check(&json, "ipv6_loopback");
    let cases = skipping(&json, "ipv6_loopback");

    assert_eq!(
        ipv6["status"], "missing",
        "expected IPv6 loopback reported missing: {ipv6}"
    );
    for expected in [
        "ch02_empty_datagrams::empty_datagram_is_delivered_as_zero_bytes_from_its_sender::case_2_ipv6",
        "socket_tier::bind_loopback_binds_the_loopback_of_its_family_on_a_port_the_os_chose::case_2_ipv6",
    ] {
        assert!(
            cases.iter().any(|c| c == expected),
            "expected {expected} among the skipping cases, got {cases:#?}"
        );
    }
    assert!(
        cases.iter().all(|c| c.contains("ipv6")),
        "expected only IPv6 cases to skip for want of IPv6, got {cases:#?}"
    );
    let chapters: std::collections::BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| c.split("::").next())
        .filter(|file| file.starts_with("ch"))
        .collect();
    assert!(
        chapters.len() >= 10,
        "expected the IPv6 cases of most chapters, got {chapters:?}"
    );
    assert_eq!(
        json["course_can_run"], true,
        "expected a machine without IPv6 to still run the course (its IPv6 cases skip)"
    );
    assert!(
        ipv6["detail"]
            .as_str()
            .is_some_and(|d| d.contains("UDP_LAB_PRETEND_NO_IPV6=1")),
        "expected the detail to say the switch pretends it: {ipv6}"
    );
    for skip in json["skips"].as_array().expect("skips") {
        assert!(
            skip["count"].as_u64().unwrap_or(0) > 0
                && !skip["cases"].as_array().is_none_or(Vec::is_empty),
            "expected only files with skipping cases to be listed, got {skip}"
        );
    }

    let table =
        String::from_utf8_lossy(&doctor(&[], &[(net::PRETEND_NO_IPV6, "1")]).stdout).into_owned();
    let lines: Vec<&str> = table.lines().collect();
    let header = lines
        .iter()
        .find(|l| l.trim_start().starts_with("check"))
        .expect("a header");
    let detail_column = header.find("detail").expect("a detail column");
    let ipv6_row = lines
        .iter()
        .position(|l| l.trim_start().starts_with("IPv6 loopback"))
        .expect("an IPv6 row");
    let used_by = lines.get(ipv6_row + 1).copied().unwrap_or("");
    assert_eq!(
        used_by.find("used by:"),
        Some(detail_column),
        "expected a missing check's row to be followed by 'used by: ...' under the detail column, got {used_by:?}"
    );
    assert!(
        table.contains("without IPv6 loopback:")
            && table.contains("cargo test --test ch02_empty_datagrams"),
        "expected the table to list the files whose cases skip, got:\n{table}"
    );
}

#[test]
fn doctor_table_has_one_aligned_line_per_check() {
    let output = doctor(&[], &[]);
    let table = String::from_utf8_lossy(&output.stdout);
    let header = table
        .lines()
        .find(|l| l.trim_start().starts_with("check"))
        .unwrap_or_else(|| panic!("expected a 'check  status  detail' header, got:\n{table}"));
    let status_column = header.find("status").expect("a status column");

    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.trim_start().starts_with("used by:"))
        .collect();

    assert!(
        output.status.success(),
        "expected exit code 0, got {}",
        output.status
    );
    // As many rows as the JSON report has checks: the two views list the same.
    let checks = report(&[])["checks"].as_array().map_or(0, Vec::len);
    assert!(
        checks > 10,
        "the JSON report lists every check; got {checks}"
    );
    assert_eq!(
        rows.len(),
        checks,
        "expected one table row per check of the JSON report, got:\n{}",
        rows.join("\n")
    );
    let missing = rows.iter().filter(|r| r.contains(" MISSING ")).count();
    let used_by = table.lines().filter(|l| l.contains("used by:")).count();
    assert_eq!(
        used_by, missing,
        "expected a 'used by' line under each missing check and no other, got:\n{table}"
    );
    for row in rows {
        let word = row.get(status_column..).unwrap_or("");
        assert!(
            ["ok ", "MISSING ", "n/a "]
                .iter()
                .any(|w| word.starts_with(w)),
            "expected the status in the column under 'status' (at {status_column}), got {row:?}"
        );
    }
}

/// Under cargo-nextest, whose captured output hides each case's skip line,
/// `.config/nextest.toml` shows this test's output at the end of the run:
/// the list of the cases that skip on this machine. The doctor runs in the
/// tests' own environment (`UDP_LAB_PRETEND_NO_IPV6` included).
#[test]
fn the_cases_that_skip_on_this_machine_are_listed_at_the_end_of_a_nextest_run() {
    let json = parse(run_doctor(
        Command::new(env!("CARGO_BIN_EXE_udp-lab")),
        &["--json"],
    ));
    let total = json["skipping_cases"].as_u64().unwrap_or(0);
    if total == 0 {
        println!("udp-lab doctor: no case skips on this machine: every test proves its property");
        return;
    }
    println!(
        "udp-lab doctor: {total} cases skip on this machine (each passed without proving anything; `cargo run -- doctor` says why):"
    );
    for skip in json["skips"].as_array().expect("skips") {
        for case in skip["cases"].as_array().expect("cases") {
            let because = skip["because"].as_str().unwrap_or("?");
            println!(
                "  skipped without {}: {}::{}",
                check(&json, because)["label"].as_str().unwrap_or(because),
                skip["file"].as_str().unwrap_or("?"),
                case.as_str().unwrap_or("?")
            );
        }
    }
}
