//! `cargo migrate init`: creates the migrations directory, adds `[package.metadata.migrate]` to
//! Cargo.toml (keeping the file's formatting), and writes or extends `build.rs` so that a new
//! migration file rebuilds a crate using `migrate!()`. Running it twice changes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use toml_edit::{DocumentMut, Item, Table, value};

use crate::cli::InitArgs;
use crate::commands::Ctx;
use crate::config::{self, DEFAULT_DATABASE_URL, DEFAULT_DIRECTORY};
use crate::error::CliError;
use crate::output::Paint;

/// The lock timeout written by `init` (the library's default).
const DEFAULT_LOCK_TIMEOUT: &str = "60s";

/// Runs `init`.
pub(crate) fn exec(_args: InitArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let cwd = std::env::current_dir().map_err(|e| CliError::Io { path: ".".into(), message: e.to_string() })?;
    let package = config::find_package(&ctx.global, &cwd)?;
    let existing = config::read_metadata(&package)?;
    let show = |p: &Path| config::display_path(p, &cwd);

    // The directory, relative to the package when possible (that is what the metadata stores).
    let dir: PathBuf = match (&ctx.global.dir, &existing.directory) {
        (Some(d), _) => cwd.join(d),
        (None, Some(d)) => package.dir.join(d),
        (None, None) => package.dir.join(DEFAULT_DIRECTORY),
    };
    let dir_in_package = dir
        .strip_prefix(&package.dir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| dir.display().to_string());

    let mut done = Vec::new();
    if dir.is_dir() {
        done.push(format!("{} already exists", show(&dir)));
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| CliError::Io { path: show(&dir), message: e.to_string() })?;
        done.push(format!("created {}", show(&dir)));
    }

    // Cargo.toml.
    let manifest_text = std::fs::read_to_string(&package.manifest_path)
        .map_err(|e| CliError::Io { path: show(&package.manifest_path), message: e.to_string() })?;
    let mut doc: DocumentMut = manifest_text.parse().map_err(|e: toml_edit::TomlError| CliError::Metadata {
        manifest: show(&package.manifest_path),
        message: e.to_string(),
        help: "fix the TOML syntax first".to_owned(),
    })?;
    let url = match ctx.global.database_url.first() {
        Some(u) if migrate_core::url_passwords(u).is_empty() => u.clone(),
        Some(_) => {
            ctx.out.warn("the --database-url holds a password, so it is not written to Cargo.toml; use DATABASE_URL or .env for it");
            DEFAULT_DATABASE_URL.to_owned()
        }
        None => DEFAULT_DATABASE_URL.to_owned(),
    };
    let build_setting = doc.get("package").and_then(|p| p.get("build")).cloned();
    let added = add_metadata(&mut doc, &dir_in_package, &url).map_err(|message| CliError::Metadata {
        manifest: show(&package.manifest_path),
        message,
        help: "add `[package.metadata.migrate]` by hand (see `cargo migrate --help`)".to_owned(),
    })?;
    if added {
        std::fs::write(&package.manifest_path, doc.to_string())
            .map_err(|e| CliError::Io { path: show(&package.manifest_path), message: e.to_string() })?;
        done.push(format!("added [package.metadata.migrate] to {}", show(&package.manifest_path)));
    } else {
        done.push(format!("{} already has [package.metadata.migrate]", show(&package.manifest_path)));
    }

    // build.rs.
    let build_rs = match build_setting.as_ref().and_then(Item::as_value) {
        Some(v) if v.as_bool() == Some(false) => None,
        Some(v) => Some(package.dir.join(v.as_str().unwrap_or("build.rs"))),
        None => Some(package.dir.join("build.rs")),
    };
    match build_rs {
        None => ctx.out.warn(
            "`build = false` in Cargo.toml: new migration files will not trigger a rebuild of crates using migrate!()",
        ),
        Some(path) => {
            let line = format!("println!(\"cargo:rerun-if-changed={dir_in_package}\");");
            match std::fs::read_to_string(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let text = format!(
                        "//! Rebuilds the crate when a migration file is added, so `migrate!()` embeds it.\n\nfn main() {{\n    {line}\n}}\n"
                    );
                    std::fs::write(&path, text)
                        .map_err(|e| CliError::Io { path: show(&path), message: e.to_string() })?;
                    done.push(format!("wrote {}", show(&path)));
                }
                Err(e) => return Err(CliError::Io { path: show(&path), message: e.to_string() }),
                Ok(text) if text.contains(&format!("rerun-if-changed={dir_in_package}\"")) => {
                    done.push(format!("{} already watches {dir_in_package}", show(&path)));
                }
                Ok(text) => match extend_build_rs(&text, &line) {
                    Some(new) => {
                        std::fs::write(&path, new)
                            .map_err(|e| CliError::Io { path: show(&path), message: e.to_string() })?;
                        done.push(format!("added the rerun-if-changed line to {}", show(&path)));
                    }
                    None => {
                        return Err(CliError::Usage {
                            message: format!("{} has no `fn main() {{` to extend", show(&path)),
                            help: format!("add `{line}` to its main function"),
                        });
                    }
                },
            }
        }
    }

    // A SQLite file beside Cargo.toml (and its journal and run lock) stays out of git.
    let configured = existing.database_url.clone().unwrap_or_else(|| url.clone());
    if let Some(file) = sqlite_file_in(&configured) {
        let path = package.dir.join(".gitignore");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CliError::Io { path: show(&path), message: e.to_string() }),
        };
        let wanted = [file.clone(), format!("{file}-*")];
        let missing: Vec<&String> = wanted.iter().filter(|w| !text.lines().any(|l| l.trim() == w.as_str())).collect();
        if missing.is_empty() {
            done.push(format!("{} already ignores {file}", show(&path)));
        } else {
            let mut new = text.clone();
            if !new.is_empty() && !new.ends_with('\n') {
                new.push('\n');
            }
            for m in &missing {
                new.push_str(m);
                new.push('\n');
            }
            std::fs::write(&path, new).map_err(|e| CliError::Io { path: show(&path), message: e.to_string() })?;
            done.push(format!("added {file} and its lock and journal files to {}", show(&path)));
        }
    }

    for d in &done {
        ctx.out.info(format!("{} {d}", ctx.out.paint(Paint::Good, "✓")));
    }
    if done.iter().any(|d| !d.contains("already")) {
        ctx.out.status(format!(
            "next: cargo migrate new -m \"create the first table\" (the database is {url} unless DATABASE_URL says otherwise)"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// The file name of a SQLite URL relative to the package (`sqlite:migrate.db` → `migrate.db`), for
/// `.gitignore`; `None` for other URLs, in-memory and absolute paths.
fn sqlite_file_in(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.starts_with(':') && !Path::new(path).is_absolute()).then(|| path.to_owned())
}

/// Adds `[package.metadata.migrate]` unless it exists. Returns whether it changed the document.
fn add_metadata(doc: &mut DocumentMut, dir: &str, url: &str) -> Result<bool, String> {
    let package = doc
        .get_mut("package")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| "no [package] table (run init on a package, not a virtual workspace)".to_owned())?;
    if package.get("metadata").is_none() {
        let mut t = Table::new();
        t.set_implicit(true);
        package.insert("metadata", Item::Table(t));
    }
    let metadata = package
        .get_mut("metadata")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| "`package.metadata` is not a table".to_owned())?;
    if metadata.contains_key("migrate") {
        return Ok(false);
    }
    let mut t = Table::new();
    t.insert("directory", value(dir));
    t.insert("database_url", value(url));
    t.insert("history_table", value("migrate_history"));
    t.insert("lock_timeout", value(DEFAULT_LOCK_TIMEOUT));
    t.decor_mut().set_prefix("\n");
    metadata.insert("migrate", Item::Table(t));
    Ok(true)
}

/// Inserts `line` as the first statement of `fn main() {`.
fn extend_build_rs(text: &str, line: &str) -> Option<String> {
    let at = text.find("fn main()")?;
    let brace = at + text[at..].find('{')?;
    let mut out = String::with_capacity(text.len() + line.len() + 8);
    out.push_str(&text[..=brace]);
    out.push_str("\n    ");
    out.push_str(line);
    out.push_str(&text[brace + 1..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_added_once_keeping_formatting() {
        let text = "[package]\nname = \"app\"   # the app\nversion = \"0.1.0\"\n\n[dependencies]\n";
        let mut doc: DocumentMut = text.parse().unwrap();
        assert!(add_metadata(&mut doc, "migrations", "sqlite:migrate.db").unwrap());
        let out = doc.to_string();
        assert!(out.starts_with("[package]\nname = \"app\"   # the app\nversion = \"0.1.0\"\n"), "{out}");
        assert!(out.contains("[package.metadata.migrate]\ndirectory = \"migrations\""), "{out}");
        assert!(out.trim_end().ends_with("[dependencies]"), "{out}");
        assert!(!out.contains("[package.metadata]\n"), "{out}");
        let mut again: DocumentMut = out.parse().unwrap();
        assert!(!add_metadata(&mut again, "migrations", "sqlite:migrate.db").unwrap());
    }

    #[test]
    fn existing_metadata_tables_are_extended() {
        let mut doc: DocumentMut = "[package]\nname = \"a\"\n\n[package.metadata.docs]\nx = 1\n".parse().unwrap();
        assert!(add_metadata(&mut doc, "db/migrations", "sqlite:migrate.db").unwrap());
        let out = doc.to_string();
        assert!(out.contains("[package.metadata.docs]\nx = 1"), "{out}");
        assert!(out.contains("[package.metadata.migrate]"), "{out}");
        let mut virtual_ws: DocumentMut = "[workspace]\nmembers = []\n".parse().unwrap();
        assert!(add_metadata(&mut virtual_ws, "m", "u").is_err());
    }

    #[test]
    fn build_rs_is_extended() {
        let line = "println!(\"cargo:rerun-if-changed=migrations\");";
        let out = extend_build_rs("fn main() {\n    other();\n}\n", line).unwrap();
        assert_eq!(out, format!("fn main() {{\n    {line}\n    other();\n}}\n"));
        assert!(extend_build_rs("// nothing", line).is_none());
    }
}
