//! `udp-lab exercises watch [N.M]`: checks the exercise being edited (the
//! first not done, or N.M) again on every save of its chapter file, with a
//! one-line status; `q` or Ctrl-C quits. When stdin is not a terminal (an
//! IDE's run window, a pipe, `< /dev/null`), no key can be read: the status
//! lines are the same, and they say to press Ctrl-C instead.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::{Duration, SystemTime};

use notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use super::runner::{self, Build};
use super::{check, first_not_done, tree};
use crate::cli::{Failure, Outcome};

/// Arguments of `udp-lab exercises watch`.
#[derive(clap::Args, Default)]
pub struct WatchArgs {
    /// The exercise to watch, e.g. `2.1` (default: the first one not done).
    pub id: Option<String>,
    /// Stop after this many checks (lets a test prove that a save re-runs it).
    #[arg(long, hide = true, value_name = "K")]
    pub max_runs: Option<u32>,
}

/// What wakes the watcher up.
enum Event {
    /// The chapter file was saved.
    Saved,
    /// `q` or Ctrl-C.
    Quit,
}

/// Runs `udp-lab exercises watch` in `root`.
pub fn run(root: &Path, args: &WatchArgs) -> Outcome {
    let Some(id) = exercise_to_watch(root, args.id.as_deref())? else {
        println!("Every exercise is done: nothing to watch.");
        return Ok(());
    };
    let chapters = tree::chapters(root)?;
    let chapter_file = tree::find(&chapters, &id)?.0.file();
    let file = root.join(&chapter_file);
    let (tx, rx) = mpsc::channel();
    let _watcher = watch_file(&file, tx.clone())?;
    quit_on_ctrl_c(tx.clone())?;
    let keys = std::io::stdin().is_terminal();
    let (_key_mode, how_to_stop) = if keys {
        let key_mode = KeyMode::enter();
        quit_on_q(tx);
        (Some(key_mode), "q quits")
    } else {
        (None, "press Ctrl-C to stop")
    };
    println!(
        "[watch] checking exercise {id} now, then on every save of {chapter_file} ({how_to_stop})"
    );
    let _ = std::io::stdout().flush();
    for run in 1.. {
        let status = check_again(root, &id)?;
        println!("[watch] run {run}: {status} (save to check again; {how_to_stop})");
        let _ = std::io::stdout().flush();
        if args.max_runs.is_some_and(|max| run >= max) {
            break;
        }
        match rx.recv() {
            Ok(Event::Saved) => while let Ok(Event::Saved) = rx.try_recv() {},
            Ok(Event::Quit) | Err(_) => break,
        }
    }
    Ok(())
}

/// `id`, or the first exercise not done (`None` when all are).
fn exercise_to_watch(root: &Path, id: Option<&str>) -> Result<Option<String>, Failure> {
    let chapters = tree::chapters(root)?;
    if let Some(id) = id {
        return Ok(Some(tree::find(&chapters, id)?.1.id.clone()));
    }
    let verdicts = runner::verdicts(root, None, &chapters)?;
    Ok(first_not_done(&chapters, &verdicts).map(|(_, e)| e.id.clone()))
}

/// Clears the screen (on a terminal), checks exercise `id` as the file is
/// now, prints the tests' output when it is not done; returns the status line.
fn check_again(root: &Path, id: &str) -> Result<String, Failure> {
    if std::io::stdout().is_terminal() {
        print!("\x1b[2J\x1b[H");
    }
    let chapters = tree::chapters(root)?;
    let (chapter, exercise) = tree::find(&chapters, id)?;
    let (verdict, stdout) = check::check(root, None, chapter, exercise, Build::Shown)?;
    if !verdict.done() {
        print!("{stdout}");
    }
    Ok(check::status_line(exercise, &verdict))
}

/// Sends [`Event::Saved`] whenever `file` is written. Watches its folder,
/// as editors often save by writing a new file and renaming it over the
/// old. Only a new modification time counts: reading the file (as each
/// check does) is an event too, and must not start another check.
fn watch_file(
    file: &Path,
    tx: Sender<Event>,
) -> Result<Debouncer<notify::RecommendedWatcher>, Failure> {
    let failure =
        |e: &dyn std::fmt::Display| Failure::Usage(format!("cannot watch {}: {e}", file.display()));
    let file: PathBuf = file.canonicalize().map_err(|e| failure(&e))?;
    let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let watched = file.clone();
    let mut last = modified(&watched);
    let on_events = move |res: DebounceEventResult| {
        let touched = res.is_ok_and(|events| events.iter().any(|e| e.path == watched));
        let now = modified(&watched);
        if touched && now != last {
            last = now;
            let _ = tx.send(Event::Saved);
        }
    };
    let mut debouncer =
        new_debouncer(Duration::from_millis(150), on_events).map_err(|e| failure(&e))?;
    debouncer
        .watcher()
        .watch(&folder, RecursiveMode::NonRecursive)
        .map_err(|e| failure(&e))?;
    Ok(debouncer)
}

/// When `file` was last written (`None` while it does not exist).
fn modified(file: &Path) -> Option<SystemTime> {
    std::fs::metadata(file).and_then(|m| m.modified()).ok()
}

/// Sends [`Event::Quit`] on Ctrl-C (SIGINT) or SIGTERM.
fn quit_on_ctrl_c(tx: Sender<Event>) -> Outcome {
    let stop = crate::cli::stop_signal()?;
    thread::spawn(move || {
        if stop.recv().is_ok() {
            let _ = tx.send(Event::Quit);
        }
    });
    Ok(())
}

/// Sends [`Event::Quit`] when `q` is typed; stops listening at the end of input.
fn quit_on_q(tx: Sender<Event>) {
    thread::spawn(move || {
        for byte in std::io::stdin().lock().bytes() {
            match byte {
                Ok(b'q' | b'Q') => {
                    let _ = tx.send(Event::Quit);
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
}

/// The terminal reading one key at a time (no Enter needed for `q`) while
/// it lives; restored when dropped. Nothing when stdin is no terminal.
struct KeyMode {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl KeyMode {
    #[cfg(unix)]
    fn enter() -> KeyMode {
        if !std::io::stdin().is_terminal() {
            return KeyMode { saved: None };
        }
        // SAFETY: tcgetattr fills the termios it is given; it is only used
        // when the call succeeds. tcsetattr reads a valid termios.
        let saved = unsafe {
            let mut term: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut term) != 0 {
                return KeyMode { saved: None };
            }
            let saved = term;
            term.c_lflag &= !(libc::ICANON | libc::ECHO);
            term.c_cc[libc::VMIN] = 1;
            term.c_cc[libc::VTIME] = 0;
            (libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term) == 0).then_some(saved)
        };
        KeyMode { saved }
    }

    #[cfg(not(unix))]
    fn enter() -> KeyMode {
        KeyMode {}
    }
}

impl Drop for KeyMode {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: restores the settings tcgetattr returned.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}
