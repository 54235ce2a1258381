//! A udp-lab checkout as the exercise tools see it: where it is, its
//! chapters and their exercises, and copies of it that cargo can build
//! without compiling everything again.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::book::{self, Exercise};
use crate::cli::Failure;

/// The file a student edition carries instead of `tests/solutions/`
/// (written by `udp-lab dev handout`, read by `tests/docs_sync.rs`).
pub const HANDOUT_MARKER: &str = "HANDOUT.md";

/// One chapter's test file and the exercises in it.
pub struct Chapter {
    /// `ch02_empty_datagrams`.
    pub name: String,
    /// Its exercises, in order.
    pub exercises: Vec<Exercise>,
}

impl Chapter {
    /// `tests/ch02_empty_datagrams.rs`, relative to the checkout.
    pub fn file(&self) -> String {
        format!("tests/{}.rs", self.name)
    }
}

/// The checkout to work on: `--root`, else the udp-lab checkout holding the
/// current directory (how `cargo run` starts it), else the one this binary
/// was built from.
pub fn root(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_path_buf();
    }
    let here = std::env::current_dir().ok();
    here.as_deref()
        .into_iter()
        .flat_map(Path::ancestors)
        .find(|dir| is_checkout(dir))
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            Path::to_path_buf,
        )
}

/// A folder whose Cargo.toml is udp-lab's and which has tests/.
fn is_checkout(dir: &Path) -> bool {
    dir.join("tests").is_dir()
        && fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|manifest| manifest.contains("name = \"udp-lab\""))
}

/// Every `tests/ch*.rs` under `root` that has exercises, in chapter order.
pub fn chapters(root: &Path) -> Result<Vec<Chapter>, Failure> {
    let tests = root.join("tests");
    let entries = fs::read_dir(&tests).map_err(|e| {
        Failure::Usage(format!(
            "reading {}: {e} (use --root to name a udp-lab checkout)",
            tests.display()
        ))
    })?;
    let mut chapters = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Some(name) = chapter_name(&path) else {
            continue;
        };
        let exercises = book::exercises(&read(&path)?);
        if !exercises.is_empty() {
            chapters.push(Chapter { name, exercises });
        }
    }
    chapters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(chapters)
}

/// `ch02_empty_datagrams` for `tests/ch02_empty_datagrams.rs`.
fn chapter_name(path: &Path) -> Option<String> {
    let name = path.file_stem()?.to_str()?;
    let is_rs = path.extension().and_then(|e| e.to_str()) == Some("rs");
    (is_rs && name.starts_with("ch")).then(|| name.to_string())
}

/// The chapter and exercise with id `id` (`2.1`); a clear usage error
/// naming the valid ids otherwise.
pub fn find<'a>(chapters: &'a [Chapter], id: &str) -> Result<(&'a Chapter, &'a Exercise), Failure> {
    chapters
        .iter()
        .flat_map(|c| c.exercises.iter().map(move |e| (c, e)))
        .find(|(_, e)| e.id == id)
        .ok_or_else(|| {
            let first = chapters.first().and_then(|c| c.exercises.first());
            let last = chapters.last().and_then(|c| c.exercises.last());
            let range = match (first, last) {
                (Some(a), Some(b)) => format!(" (ids go from {} to {})", a.id, b.id),
                _ => String::new(),
            };
            Failure::Usage(format!(
                "no exercise {id}{range}: `cargo run -- exercises` lists them"
            ))
        })
}

/// Reads a text file; the error names it.
pub fn read(path: &Path) -> Result<String, Failure> {
    fs::read_to_string(path).map_err(|e| Failure::Usage(format!("reading {}: {e}", path.display())))
}

/// Writes a text file; the error names it.
pub fn write(path: &Path, text: &str) -> Result<(), Failure> {
    fs::write(path, text).map_err(|e| Failure::Usage(format!("writing {}: {e}", path.display())))
}

/// Where copies of a checkout (grade's, `dev verify`'s, a handout's tests)
/// are built: `$UDP_LAB_COPY_TARGET_DIR`, else `udp-lab-copies` in the
/// checkout's target directory. One folder for every copy, so the
/// dependencies are compiled once; never the checkout's own target folder,
/// whose test binaries a copy's would overwrite.
pub fn copies_target(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("UDP_LAB_COPY_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("udp-lab-copies")
}

/// What [`copy_checkout`] copies besides `Cargo.toml`, `Cargo.lock`,
/// `src/` and `tests/`.
#[derive(Clone, Copy)]
pub struct CopyOptions {
    /// `tests/solutions/` too.
    pub solutions: bool,
    /// Append `[workspace]` to the manifest, so cargo never looks above the copy.
    pub own_workspace: bool,
}

/// Copies a checkout to `to`: the manifest, the lock file, README.md,
/// .gitignore, src/, tests/, docs/ and .github/ (the docs tests read them),
/// and the cargo and nextest settings (.cargo/, .config/), so a copy's tests
/// run as the checkout's do.
///
/// Files keep their modification times, except the `.rs` files under
/// tests/, which get the time of the copy. Copies share one target folder
/// ([`copies_target`]): the library and binary, the same in every copy,
/// are then compiled once, while each copy's test binaries are compiled
/// again (they hold their copy's path, and the copy's exercises).
pub fn copy_checkout(from: &Path, to: &Path, options: CopyOptions) -> Result<(), Failure> {
    let io = |e: std::io::Error| {
        Failure::Usage(format!(
            "copying {} to {}: {e}",
            from.display(),
            to.display()
        ))
    };
    fs::create_dir_all(to).map_err(io)?;
    for file in ["Cargo.toml", "Cargo.lock", "README.md", ".gitignore"] {
        if from.join(file).exists() {
            copy_file(&from.join(file), &to.join(file), true).map_err(io)?;
        }
    }
    let manifest = read(&to.join("Cargo.toml"))?;
    if options.own_workspace && !manifest.lines().any(|l| l.trim() == "[workspace]") {
        let own = format!("{manifest}\n[workspace]\n");
        write(&to.join("Cargo.toml"), &own)?;
    }
    copy_dir(&from.join("src"), &to.join("src"), &|_| true, true).map_err(io)?;
    let keep = |path: &Path| options.solutions || !path.ends_with("solutions");
    copy_dir(&from.join("tests"), &to.join("tests"), &keep, false).map_err(io)?;
    for dir in ["docs", ".github", ".cargo", ".config"] {
        if from.join(dir).is_dir() {
            copy_dir(&from.join(dir), &to.join(dir), &|_| true, true).map_err(io)?;
        }
    }
    Ok(())
}

/// Copies `from` into `to`, the entries `keep` accepts; `.rs` files keep
/// their modification time only when `keep_rs_times`.
pub fn copy_dir(
    from: &Path,
    to: &Path,
    keep: &dyn Fn(&Path) -> bool,
    keep_rs_times: bool,
) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        if !keep(&path) {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &dest, keep, keep_rs_times)?;
        } else {
            let is_rs = path.extension().is_some_and(|e| e == "rs");
            copy_file(&path, &dest, keep_rs_times || !is_rs)?;
        }
    }
    Ok(())
}

/// Copies one file, with its modification time when `keep_time`.
fn copy_file(from: &Path, to: &Path, keep_time: bool) -> std::io::Result<()> {
    fs::copy(from, to)?;
    if keep_time {
        let modified = fs::metadata(from)?.modified()?;
        fs::File::options()
            .write(true)
            .open(to)?
            .set_modified(modified)?;
    }
    Ok(())
}
