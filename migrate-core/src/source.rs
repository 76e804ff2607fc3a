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
    let dir_problem =
        |reason: String| Problem::new(ProblemKind::MissingDirectory { reason }, Location::new(display_dir, 1, 1));
    let entries = std::fs::read_dir(dir).map_err(|e| dir_problem(format!("{}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| dir_problem(e.to_string()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".sql") {
            continue;
        }
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let display = if display_dir.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", display_dir.trim_end_matches('/'))
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            Problem::new(ProblemKind::Unreadable { reason: e.to_string() }, Location::new(&display, 1, 1))
        })?;
        files.push(SourceFile { path, display, bytes });
    }
    files.sort_by(|a, b| a.display.cmp(&b.display));
    Ok(files)
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
    for file in files {
        match parse_bytes(&file.display, &file.bytes) {
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
