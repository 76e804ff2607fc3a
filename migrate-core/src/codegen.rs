//! The expansion behind `migrate!()`: a migrations directory in, the tokens of a
//! [`Migrations`](crate::Migrations) value (or one `compile_error!` per problem) out.
//!
//! It lives in this crate rather than in the proc-macro crate so that it is ordinary code working
//! on `proc_macro2` tokens: tests and benchmarks call it directly, outside the compiler. Loading
//! and validation go through [`read_dir`], [`load_files`] and [`RevisionGraph::check_heads`], the
//! same functions the CLI and the runtime use.

use std::path::{Component, Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use crate::graph::{HeadPolicy, RevisionGraph};
use crate::migration::{Down, Migration};
use crate::problem::{Problem, ProblemKind, Problems};
use crate::source::{SourceFile, load_files, read_dir};

/// The directory `migrate!()` embeds when no path is given, relative to the package.
pub const DEFAULT_DIR: &str = "migrations";

/// Where the migrations are: the directory on disk and how it is shown to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationsDir {
    /// The directory on disk (absolute when made by [`resolve_dir`]).
    pub path: PathBuf,
    /// How the directory is shown in messages and in each embedded migration's `path`: relative
    /// to the package when it is inside it, otherwise as written.
    pub display: String,
}

impl MigrationsDir {
    /// A directory shown as `display`.
    pub fn new(path: impl Into<PathBuf>, display: impl Into<String>) -> Self {
        Self { path: path.into(), display: display.into() }
    }
}

/// Where problems are reported in the calling code.
#[derive(Debug, Clone)]
pub struct Spans {
    /// The whole macro call: problems in migration files point here.
    pub call_site: Span,
    /// The path literal (or the call when there is none): a missing directory points here.
    pub path: Span,
    /// Each declared branch label's literal, in the order declared (missing ones: the call).
    pub branches: Vec<Span>,
}

impl Default for Spans {
    fn default() -> Self {
        Self { call_site: Span::call_site(), path: Span::call_site(), branches: Vec::new() }
    }
}

/// Resolves the path written in `migrate!(...)` to a directory.
///
/// - no path: [`DEFAULT_DIR`] in `manifest_dir` (the calling package's `CARGO_MANIFEST_DIR`);
/// - a path starting with `./` or `../`: relative to the directory of `source_file`, the file
///   that invokes the macro (as `include_str!` does);
/// - any other relative path: relative to `manifest_dir`;
/// - an absolute path: as is.
///
/// The result is absolute and free of `.`/`..` components. It is shown relative to the package
/// when it lies inside `manifest_dir`, otherwise as written, so messages never depend on where
/// the code was checked out. The error says what to write instead.
pub fn resolve_dir(
    written: Option<&str>,
    manifest_dir: Option<&Path>,
    source_file: Option<&Path>,
) -> Result<MigrationsDir, String> {
    let manifest = manifest_dir.map(lexical_normalize);
    let needs_manifest = |what: &str| {
        manifest.clone().ok_or_else(|| {
            format!(
                "{what} is relative to the package, but CARGO_MANIFEST_DIR is not set (the crate is not being \
                 built by cargo); give an absolute path instead"
            )
        })
    };
    let Some(written) = written else {
        let manifest = needs_manifest(&format!("the default directory `{DEFAULT_DIR}`"))?;
        return Ok(MigrationsDir::new(manifest.join(DEFAULT_DIR), DEFAULT_DIR));
    };
    if written.trim().is_empty() {
        return Err(format!(
            "the migrations directory path is empty; write `migrate!()` for `{DEFAULT_DIR}/`, or name a directory"
        ));
    }
    let given = Path::new(written);
    let path = if given.is_absolute() {
        lexical_normalize(given)
    } else if matches!(given.components().next(), Some(Component::CurDir | Component::ParentDir)) {
        let Some(file) = source_file else {
            return Err(format!(
                "`{written}` starts with `./` or `../`, so it is relative to the file that calls `migrate!`, but \
                 the compiler did not say which file that is; write the path relative to the package instead \
                 (without `./`)"
            ));
        };
        // The compiler names some files relative to its working directory (cargo runs it from
        // the workspace root), which is also this process's working directory.
        let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let base = file.parent().unwrap_or(Path::new(""));
        lexical_normalize(&base.join(given))
    } else {
        lexical_normalize(&needs_manifest(&format!("`{written}`"))?.join(given))
    };
    let display = match manifest.as_deref().and_then(|m| path.strip_prefix(m).ok()) {
        Some(inside) if inside.as_os_str().is_empty() => ".".to_owned(),
        Some(inside) => slashed(inside),
        None => written.trim_end_matches(['/', '\\']).to_owned(),
    };
    Ok(MigrationsDir { path, display })
}

/// Removes `.` components and folds `..` into the preceding component, without touching the disk.
fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// A relative path with `/` separators, as shown in messages on every platform.
fn slashed(path: &Path) -> String {
    let parts: Vec<_> = path.components().map(|c| c.as_os_str().to_string_lossy()).collect();
    parts.join("/")
}

/// The head policy for the declared branch labels: a single head when none are declared.
pub fn head_policy(branches: &[String]) -> HeadPolicy {
    if branches.is_empty() { HeadPolicy::Single } else { HeadPolicy::Branches(branches.to_vec()) }
}

/// Reads and validates the directory: its files and the graph, or every problem found.
pub fn load(dir: &MigrationsDir, branches: &[String]) -> Result<(Vec<SourceFile>, RevisionGraph), Problems> {
    let files = read_dir(&dir.path, &dir.display)?;
    let graph = load_files(&files)?;
    graph.check_heads(&head_policy(branches))?;
    Ok((files, graph))
}

/// The whole expansion of `migrate!()`: [`load`], then [`embed`] or [`report`].
pub fn expand(dir: &MigrationsDir, branches: &[String], spans: &Spans) -> TokenStream {
    match load(dir, branches) {
        Ok((files, graph)) => embed(&files, &graph, branches),
        Err(problems) => report(&problems, branches, spans),
    }
}

/// The tokens of a `::migrate_core::Migrations` value holding every file of `graph` (with the
/// files squashes replace), in file order, with `include_str!` of each file so that editing one
/// rebuilds the caller.
///
/// The value is built in a `const` item so the expression is `'static` wherever it is used.
pub fn embed(files: &[SourceFile], graph: &RevisionGraph, branches: &[String]) -> TokenStream {
    // Only for rebuild tracking: the compiler records each file as an input of the caller.
    // A path that cannot be written as a string literal is simply not tracked.
    let tracked = files
        .iter()
        .filter_map(|f| std::path::absolute(&f.path).ok())
        .filter_map(|p| p.to_str().map(str::to_owned))
        .map(|p| quote! { const _: &str = ::core::include_str!(#p); });
    // Replaced files too: a database partway through a squashed range finishes it with them.
    let migrations = graph.files().into_iter().map(migration);
    quote! {
        {
            #(#tracked)*
            const MIGRATE_EMBEDDED: ::migrate_core::Migrations = ::migrate_core::Migrations {
                migrations: &[#(#migrations),*],
                branches: &[#(#branches),*],
            };
            MIGRATE_EMBEDDED
        }
    }
}

/// One `::migrate_core::EmbeddedMigration { .. }` literal.
fn migration(m: &Migration) -> TokenStream {
    let Migration {
        path,
        revision,
        down_revisions,
        depends_on,
        branch_labels,
        replaces,
        message,
        transaction,
        up,
        up_line,
        ..
    } = m;
    let created = m.created.as_deref().unwrap_or("");
    let down = match &m.down {
        Down::Sql { sql, line } => quote!(::migrate_core::EmbeddedDown::Sql(#sql, #line)),
        Down::Irreversible { reason } => quote!(::migrate_core::EmbeddedDown::Irreversible(#reason)),
        Down::Missing => quote!(::migrate_core::EmbeddedDown::Missing),
    };
    let checksum = m.checksum.0;
    quote! {
        ::migrate_core::EmbeddedMigration {
            path: #path,
            revision: #revision,
            down_revisions: &[#(#down_revisions),*],
            depends_on: &[#(#depends_on),*],
            branch_labels: &[#(#branch_labels),*],
            replaces: &[#(#replaces),*],
            message: #message,
            created: #created,
            transaction: #transaction,
            up: #up,
            up_line: #up_line,
            down: #down,
            checksum: [#(#checksum),*],
        }
    }
}

/// One `compile_error!` per problem, then the well-typed fallback
/// `::migrate_core::Migrations::EMPTY` so that no follow-on errors appear.
///
/// Each message is the problem's rendering, `path:line:column: what is wrong` then the help, in
/// file order. A missing directory points at the path literal, and a declared branch label that
/// no revision carries at that label (its message names no file: the mistake is in the call).
/// Every other problem points at the macro call.
pub fn report(problems: &Problems, branches: &[String], spans: &Spans) -> TokenStream {
    let mut problems: Vec<&Problem> = problems.iter().collect();
    problems.sort_by(|a, b| a.location.cmp(&b.location));
    let errors = problems.into_iter().map(|p| {
        let (span, message) = match &p.kind {
            ProblemKind::MissingDirectory { .. } => (spans.path, p.to_string()),
            ProblemKind::UndeclaredLabel { label } => {
                let at = branches.iter().position(|b| b == label).and_then(|i| spans.branches.get(i));
                (at.copied().unwrap_or(spans.call_site), format!("{}\n  help: {}", p.kind, p.help()))
            }
            _ => (spans.call_site, p.to_string()),
        };
        quote_spanned!(span=> ::core::compile_error!(#message);)
    });
    quote! {
        {
            #(#errors)*
            ::migrate_core::Migrations::EMPTY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(written: Option<&str>, file: Option<&str>) -> Result<MigrationsDir, String> {
        resolve_dir(written, Some(Path::new("/work/app")), file.map(Path::new))
    }

    #[test]
    fn default_dir_is_migrations_in_the_package() {
        assert_eq!(dir(None, None), Ok(MigrationsDir::new("/work/app/migrations", "migrations")));
    }

    #[test]
    fn plain_relative_paths_are_relative_to_the_package() {
        assert_eq!(
            dir(Some("db/migrations/"), None),
            Ok(MigrationsDir::new("/work/app/db/migrations", "db/migrations"))
        );
        assert_eq!(dir(Some("db/./x/../m"), None), Ok(MigrationsDir::new("/work/app/db/m", "db/m")));
    }

    #[test]
    fn dot_paths_are_relative_to_the_calling_file() {
        let from_src = dir(Some("../migrations"), Some("/work/app/src/lib.rs"));
        assert_eq!(from_src, Ok(MigrationsDir::new("/work/app/migrations", "migrations")));
        let outside = dir(Some("../../fixtures/dup"), Some("/work/tests/ui/fail/dup.rs"));
        assert_eq!(outside, Ok(MigrationsDir::new("/work/tests/fixtures/dup", "../../fixtures/dup")));
        // The compiler names workspace members' files relative to its working directory.
        let relative_file = resolve_dir(Some("./m"), Some(Path::new("/ws/app")), Some(Path::new("app/src/main.rs")));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(relative_file.map(|d| d.path), Ok(lexical_normalize(&cwd.join("app/src/m"))));
        assert!(dir(Some("./m"), None).unwrap_err().contains("relative to the package instead"));
    }

    #[test]
    fn absolute_paths_are_shown_relative_to_the_package_when_inside_it() {
        assert_eq!(dir(Some("/work/app/sql"), None), Ok(MigrationsDir::new("/work/app/sql", "sql")));
        assert_eq!(dir(Some("/srv/sql/"), None), Ok(MigrationsDir::new("/srv/sql", "/srv/sql")));
        assert_eq!(dir(Some("/work/app"), None), Ok(MigrationsDir::new("/work/app", ".")));
    }

    #[test]
    fn unusable_paths_say_what_to_write() {
        assert!(dir(Some(" "), None).unwrap_err().contains("path is empty"));
        let no_manifest = resolve_dir(Some("migrations"), None, None).unwrap_err();
        assert!(no_manifest.contains("CARGO_MANIFEST_DIR"), "{no_manifest}");
        assert!(resolve_dir(Some("/abs"), None, None).is_ok());
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn embeds_every_field_and_tracks_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "a_base.sql",
            "-- revision: aaaa\n-- down_revision:\n-- message: \"quoted\" base\n-- created: 2026-01-01T00:00:00Z\n\
             -- migrate:up\nCREATE TABLE t (x int);\n-- migrate:down\nDROP TABLE t;\n",
        );
        write(
            tmp.path(),
            "b_next.sql",
            "-- revision: bbbb\n-- down_revision: aaaa\n-- transaction: false\n-- branch_labels: main\n\
             -- migrate:up\nCREATE INDEX CONCURRENTLY i ON t (x);\n-- migrate:down irreversible: data is gone\n",
        );
        let dir = MigrationsDir::new(tmp.path(), "m");
        let tokens = expand(&dir, &[], &Spans::default()).to_string();
        assert!(!tokens.contains("compile_error"), "{tokens}");
        assert_eq!(tokens.matches("include_str").count(), 2);
        assert!(tokens.contains(&format!("{:?}", tmp.path().join("b_next.sql").to_str().unwrap())));
        for expected in [
            "path : \"m/a_base.sql\"",
            "revision : \"aaaa\"",
            "message : \"\\\"quoted\\\" base\"",
            "created : \"2026-01-01T00:00:00Z\"",
            "up : \"CREATE TABLE t (x int);\\n\"",
            "up_line : 6u32",
            ":: migrate_core :: EmbeddedDown :: Sql (\"DROP TABLE t;\\n\" , 8u32)",
            "down_revisions : & [\"aaaa\"]",
            "branch_labels : & [\"main\"]",
            "transaction : false",
            ":: migrate_core :: EmbeddedDown :: Irreversible (\"data is gone\")",
            "branches : & []",
        ] {
            assert!(tokens.contains(expected), "missing {expected} in {tokens}");
        }
        let (_, graph) = load(&dir, &[]).unwrap();
        let sum = graph.get("aaaa").unwrap().checksum.0;
        let bytes: Vec<String> = sum.iter().map(|b| format!("{b}u8")).collect();
        assert!(tokens.contains(&format!("checksum : [{}]", bytes.join(" , "))));
        // File order, not topological order or anything else.
        assert!(tokens.find("\"aaaa\"").unwrap() < tokens.find("\"bbbb\"").unwrap());
    }

    #[test]
    fn every_problem_becomes_one_compile_error_and_a_typed_fallback() {
        let tmp = tempfile::tempdir().unwrap();
        let body = "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n";
        write(tmp.path(), "a.sql", &format!("-- revision: aaaa\n-- down_revision:\n{body}"));
        write(tmp.path(), "b.sql", &format!("-- revision: aaaa\n-- down_revision:\n{body}"));
        write(tmp.path(), "c.sql", &format!("-- revision: cccc\n-- down_revision: zzzz\n{body}"));
        write(
            tmp.path(),
            "d.sql",
            &format!("-- revision: dddd\n-- down_revision: aaaa\n-- transaction: maybe\n{body}"),
        );
        let tokens = expand(&MigrationsDir::new(tmp.path(), "m"), &[], &Spans::default()).to_string();
        assert_eq!(tokens.matches("compile_error").count(), 3, "{tokens}");
        // In file order, whichever stage found them.
        let at = |needle: &str| tokens.find(needle).unwrap_or_else(|| panic!("no {needle} in {tokens}"));
        let dup = at("m/b.sql:1:1: duplicate revision id `aaaa`");
        let dangling = at("m/c.sql:2:1: revision `cccc` has down_revision `zzzz`");
        let header = at("m/d.sql:3:17: `transaction: maybe` must be `true` or `false`");
        assert!(dup < dangling && dangling < header, "{tokens}");
        assert!(tokens.contains("help:"));
        assert!(tokens.trim_end().ends_with(":: migrate_core :: Migrations :: EMPTY }"), "{tokens}");
        assert!(!tokens.contains("include_str"));
    }

    #[test]
    fn heads_follow_the_declared_branches() {
        let tmp = tempfile::tempdir().unwrap();
        let body = "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n";
        write(tmp.path(), "a.sql", &format!("-- revision: aaaa\n-- down_revision:\n{body}"));
        write(tmp.path(), "b.sql", &format!("-- revision: bbbb\n-- down_revision: aaaa\n-- branch_labels: x\n{body}"));
        write(tmp.path(), "c.sql", &format!("-- revision: cccc\n-- down_revision: aaaa\n-- branch_labels: y\n{body}"));
        let dir = MigrationsDir::new(tmp.path(), "m");
        let single = expand(&dir, &[], &Spans::default()).to_string();
        assert!(single.contains("2 heads, but a single head is required"), "{single}");
        let declared = expand(&dir, &["x".into(), "y".into()], &Spans::default()).to_string();
        assert!(!declared.contains("compile_error"), "{declared}");
        assert!(declared.contains("branches : & [\"x\" , \"y\"]"), "{declared}");
        // The mistake is in the call, so the message names no file.
        let unknown = expand(&dir, &["x".into(), "zz".into()], &Spans::default()).to_string();
        assert!(
            unknown.contains("compile_error ! (\"declared branch `zz` is not the label of any revision"),
            "{unknown}"
        );
        assert!(unknown.contains("m/c.sql:1:1: head `cccc` is on none of the declared branches (x, zz)"), "{unknown}");
    }

    #[test]
    fn a_missing_directory_is_one_problem_at_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MigrationsDir::new(tmp.path().join("nope"), "nope");
        let tokens = expand(&dir, &[], &Spans::default()).to_string();
        assert_eq!(tokens.matches("compile_error").count(), 1);
        assert!(tokens.contains("nope:1:1: migrations directory not found"), "{tokens}");
    }

    #[test]
    fn an_empty_directory_embeds_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let tokens = expand(&MigrationsDir::new(tmp.path(), "m"), &[], &Spans::default()).to_string();
        assert!(tokens.contains("migrations : & []"), "{tokens}");
    }
}
