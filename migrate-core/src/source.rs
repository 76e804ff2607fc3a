//! Reading a migrations directory: the one loader used by the macro, the CLI and the runtime.

use std::path::{Path, PathBuf};

use crate::graph::RevisionGraph;
use crate::migration::Migration;
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
        use rustix::fs::{AtFlags, Mode, OFlags};
        use sha2::{Digest, Sha256};
        let fd = rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        let mut names: Vec<std::ffi::OsString> =
            std::fs::read_dir(dir).ok()?.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>().ok()?;
        names.sort();
        // One system call per entry, relative to the directory, spread over the cores.
        let stats = in_parallel(names.iter().collect(), |name: &std::ffi::OsString| {
            rustix::fs::statat(&fd, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW).ok().map(|s| stat_fields(&s))
        });
        let own = stat_fields(&rustix::fs::fstat(&fd).ok()?);
        let mut hash = Sha256::new();
        let entries = names.iter().map(|n| n.as_encoded_bytes()).zip(stats);
        for (name, fields) in std::iter::once((&b""[..], Some(own))).chain(entries) {
            hash.update(name);
            for n in fields? {
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

/// What a fingerprint takes of an entry: size, modification and change times, inode, device.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // the fields' types differ between systems
fn stat_fields(s: &rustix::fs::Stat) -> [u64; 7] {
    [
        s.st_size as u64,
        s.st_mtime as u64,
        s.st_mtime_nsec as u64,
        s.st_ctime as u64,
        s.st_ctime_nsec as u64,
        s.st_ino as u64,
        s.st_dev as u64,
    ]
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
    let (found, skipped) = list(dir, display_dir)?;
    let opener = Opener::new(dir);
    let files = in_parallel(found, |entry| opener.source(entry)).into_iter().collect::<Result<_, _>>()?;
    Ok(Listing { files, skipped })
}

/// A migrations directory read and parsed: [`read_listing`] and [`load_files`] in one pass.
#[derive(Debug)]
pub struct Loaded {
    /// The files read, and those skipped.
    pub listing: Listing,
    /// The graph the files make, or every problem found in them (as [`load_files`] gives).
    pub graph: Result<RevisionGraph, Problems>,
}

/// Reads and parses the migrations in `dir` in one pass: each file is parsed by the thread that
/// read it, while its bytes are at hand. Only a directory or file that cannot be read is an
/// error here; what the files say is judged in [`Loaded::graph`].
pub fn load_listing(dir: &Path, display_dir: &str) -> Result<Loaded, Problem> {
    let (found, skipped) = list(dir, display_dir)?;
    let opener = Opener::new(dir);
    let read_and_parse = |entry| {
        let file = opener.source(entry)?;
        let parsed = parse_bytes(&file.display, &file.bytes);
        Ok((file, parsed))
    };
    let (files, parsed): (Vec<_>, Vec<_>) =
        in_parallel(found, read_and_parse).into_iter().collect::<Result<Vec<_>, Problem>>()?.into_iter().unzip();
    let graph = assemble(&files, parsed);
    Ok(Loaded { listing: Listing { files, skipped }, graph })
}

/// A listed file: its path, and how it is shown.
type Entry = (PathBuf, String);

/// The `*.sql` files directly inside `dir` (path, and as shown), and the other files there
/// that are not hidden (as shown), both sorted: one listing of the directory.
fn list(dir: &Path, display_dir: &str) -> Result<(Vec<Entry>, Vec<String>), Problem> {
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
    Ok((found, skipped))
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

    /// The listed file `(path, shown)`, read.
    fn source(&self, (path, display): Entry) -> Result<SourceFile, Problem> {
        match self.read(&path) {
            Ok(bytes) => Ok(SourceFile { path, display, bytes }),
            Err(e) => {
                Err(Problem::new(ProblemKind::Unreadable { reason: e.to_string() }, Location::new(&display, 1, 1)))
            }
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
/// The calling thread takes the last share itself.
pub(crate) fn in_parallel<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    const PER_THREAD: usize = 128;
    // Asked once: the answer costs a dozen system calls (the cgroup's quota) on Linux.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    let threads = cores.min(items.len() / PER_THREAD);
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    for _ in 0..threads {
        chunks.push(items.by_ref().take(chunk).collect::<Vec<T>>());
    }
    let own = chunks.pop().unwrap_or_default();
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            chunks.into_iter().map(|c| scope.spawn(move || c.into_iter().map(f).collect::<Vec<U>>())).collect();
        let last: Vec<U> = own.into_iter().map(f).collect();
        // A panic in `f` is a bug; it propagates as it would without threads.
        let mut out: Vec<U> =
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        out.extend(last);
        out
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
    let parsed = in_parallel(files.iter().collect(), |file: &SourceFile| parse_bytes(&file.display, &file.bytes));
    assemble(files, parsed)
}

/// The graph of `files`, each parsed into `parsed` (in the same order), or every problem found.
fn assemble(files: &[SourceFile], parsed: Vec<Result<Migration, Problems>>) -> Result<RevisionGraph, Problems> {
    let mut problems = Vec::new();
    let mut migrations = Vec::with_capacity(files.len());
    // Ids declared by files that failed to parse: their children are not dangling.
    let mut broken_ids = Vec::new();
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
