//! Reading a migrations directory: the one loader used by the macro, the CLI and the runtime.

use std::path::{Path, PathBuf};

use crate::graph::RevisionGraph;
use crate::parse::parse_bytes;
use crate::problem::{Location, Problem, ProblemKind, Problems};

/// One `.sql` file read from a migrations directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path on disk.
    pub path: PathBuf,
    /// The path as shown to people (`<display dir>/<file name>`).
    pub display: String,
    /// The raw bytes.
    pub bytes: Vec<u8>,
}

/// Reads every `*.sql` file directly inside `dir`, sorted by file name.
///
/// Hidden files and other extensions are skipped. `display_dir` is how `dir` is shown in messages
/// (for example `migrations`, relative to the package).
pub fn read_dir(dir: &Path, display_dir: &str) -> Result<Vec<SourceFile>, Problem> {
    read_listing(dir, display_dir).map(|listing| listing.files)
}

/// A fingerprint of everything in `dir` that reading it depends on: each entry's name, size,
/// modification and change times and inode (the change time moves with any write, and cannot
/// be set back). Equal fingerprints mean the same files with the same contents, so what was
/// computed from them can be reused; `None` where the system does not give these.
pub fn fingerprint(dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use sha2::{Digest, Sha256};
        use std::os::unix::fs::MetadataExt;
        let mut entries: Vec<(std::ffi::OsString, std::fs::Metadata)> = std::fs::read_dir(dir)
            .ok()?
            .map(|e| e.and_then(|e| Ok((e.file_name(), e.metadata()?))))
            .collect::<Result<_, _>>()
            .ok()?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hash = Sha256::new();
        let own = std::fs::metadata(dir).ok()?;
        for (name, m) in std::iter::once((std::ffi::OsString::new(), own)).chain(entries) {
            hash.update(name.as_encoded_bytes());
            for n in [
                m.len(),
                m.mtime() as u64,
                m.mtime_nsec() as u64,
                m.ctime() as u64,
                m.ctime_nsec() as u64,
                m.ino(),
                m.dev(),
            ] {
                hash.update(n.to_le_bytes());
            }
            hash.update([0xff]);
        }
        Some(crate::sql::hex(&hash.finalize()))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// What one reading of a migrations directory found.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The `*.sql` files, read, sorted by file name.
    pub files: Vec<SourceFile>,
    /// Other files that are not hidden (a `.SQL`, `.sql.bak` or `.txt` there is usually a
    /// mistake worth a warning), as shown to people, sorted.
    pub skipped: Vec<String>,
}

/// [`read_dir`], also naming the files it skipped, from the same one listing of `dir`.
pub fn read_listing(dir: &Path, display_dir: &str) -> Result<Listing, Problem> {
    let dir_problem =
        |reason: String| Problem::new(ProblemKind::MissingDirectory { reason }, Location::new(display_dir, 1, 1));
    let entries = std::fs::read_dir(dir).map_err(|e| dir_problem(format!("{}: {e}", dir.display())))?;
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let shown = |name: &str| {
        if display_dir.is_empty() { name.to_owned() } else { format!("{}/{name}", display_dir.trim_end_matches('/')) }
    };
    for entry in entries {
        let entry = entry.map_err(|e| dir_problem(e.to_string()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        if !name.ends_with(".sql") {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                skipped.push(shown(name));
            }
            continue;
        }
        let path = entry.path();
        // The directory entry's own type (no extra system call); a link is followed.
        let is_file = match entry.file_type() {
            Ok(t) if t.is_symlink() => path.is_file(),
            Ok(t) => t.is_file(),
            Err(_) => path.is_file(),
        };
        if !is_file {
            continue;
        }
        found.push((path, shown(name)));
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    skipped.sort();
    let opener = Opener::new(dir);
    let read = |(path, display): (PathBuf, String)| {
        let bytes = opener.read(&path).map_err(|e| {
            Problem::new(ProblemKind::Unreadable { reason: e.to_string() }, Location::new(&display, 1, 1))
        })?;
        Ok(SourceFile { path, display, bytes })
    };
    let files = in_parallel(found, read).into_iter().collect::<Result<_, _>>()?;
    Ok(Listing { files, skipped })
}

/// Opens the files of one directory: relative to the directory's descriptor where the system
/// has `openat` (the kernel then walks one path component instead of the whole path), else by
/// path.
struct Opener {
    #[cfg(unix)]
    dir: Option<rustix::fd::OwnedFd>,
}

impl Opener {
    fn new(dir: &Path) -> Self {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            Self { dir: rustix::fs::open(dir, flags, Mode::empty()).ok() }
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            Self {}
        }
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        #[cfg(unix)]
        if let (Some(dir), Some(name)) = (&self.dir, path.file_name()) {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            return read_file(std::fs::File::from(fd));
        }
        read_file(std::fs::File::open(path)?)
    }
}

/// Reads `file` to its end through a stack buffer: no size query (`read_to_end` asks for the
/// size and the position first, two system calls more per file), and a result allocated at the
/// size it turned out to have.
fn read_file(mut file: std::fs::File) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = [0u8; 16 * 1024];
    let mut bytes = Vec::new();
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(bytes),
            Ok(n) if bytes.is_empty() && n < buf.len() => {
                // The usual case: the whole file in one read, then the end.
                bytes = buf[..n].to_vec();
            }
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `f` over `items` on the machine's cores (in order), when there are enough items for threads
/// to pay off; a chain of a thousand revisions is read and parsed in a fraction of the time.
fn in_parallel<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    const PER_THREAD: usize = 128;
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(items.len() / PER_THREAD);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    for _ in 0..threads {
        chunks.push(items.by_ref().take(chunk).collect::<Vec<T>>());
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            chunks.into_iter().map(|c| scope.spawn(move || c.into_iter().map(f).collect::<Vec<U>>())).collect();
        // A panic in `f` is a bug; it propagates as it would without threads.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Reads, parses and validates the migrations in `dir`: the whole pipeline in one call.
///
/// Parse problems and graph problems are reported together. Heads are not checked here; call
/// [`RevisionGraph::check_heads`] where a single head (or one per declared branch) is required.
pub fn load_dir(dir: &Path, display_dir: &str) -> Result<RevisionGraph, Problems> {
    let files = read_dir(dir, display_dir)?;
    load_files(&files)
}

/// Parses and validates already-read files (see [`load_dir`]).
pub fn load_files(files: &[SourceFile]) -> Result<RevisionGraph, Problems> {
    let mut problems = Vec::new();
    let mut migrations = Vec::with_capacity(files.len());
    // Ids declared by files that failed to parse: their children are not dangling.
    let mut broken_ids = Vec::new();
    let parsed = in_parallel(files.iter().collect(), |file: &SourceFile| parse_bytes(&file.display, &file.bytes));
    for (file, result) in files.iter().zip(parsed) {
        match result {
            Ok(m) => migrations.push(m),
            Err(p) => {
                problems.extend(p);
                broken_ids.extend(declared_id(&file.bytes));
            }
        }
    }
    let mut problems = match RevisionGraph::new(migrations) {
        Ok(graph) if problems.is_empty() => return Ok(graph),
        Ok(_) => problems,
        Err(graph_problems) => {
            problems.extend(graph_problems.into_iter().filter(|p| match &p.kind {
                ProblemKind::UnknownDownRevision { parent: id, .. }
                | ProblemKind::UnknownDependency { dependency: id, .. } => !broken_ids.contains(id),
                _ => true,
            }));
            problems
        }
    };
    problems.sort_by(|a, b| a.location.cmp(&b.location));
    Err(Problems(problems))
}

/// The id on a `-- revision:` line of a file that may not parse as a whole.
fn declared_id(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("--")?.trim_start().strip_prefix("revision:")?;
        Some(value.trim().to_owned())
    })
}
