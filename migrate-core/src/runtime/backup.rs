//! [`Backup`]: a copy of the database written under the run's lock, after the plan is known to
//! change something and before anything changes — with the database's own tools: SQLite's
//! `VACUUM INTO`, `pg_dump -Fc`, `mariadb-dump`/`mysqldump --single-transaction`. Named after the
//! database, the time and the revision it was at, so the right file is easy to find.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::secret::split_password;
use crate::sql::Dialect;

/// Where a run writes its backup, and the URL the dump tools connect with.
#[derive(Clone)]
pub struct Backup {
    dir: PathBuf,
    url: String,
}

impl std::fmt::Debug for Backup {
    // Never prints the URL's password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup").field("dir", &self.dir).field("url", &crate::redact_url(&self.url)).finish()
    }
}

impl Backup {
    /// Backups into `dir` (created if missing) of the database at `url`.
    pub fn new(dir: impl Into<PathBuf>, url: impl Into<String>) -> Self {
        Self { dir: dir.into(), url: url.into() }
    }

    /// The file a backup of a database at `at` (its current revisions; empty at base) goes to,
    /// created empty in the directory (made if missing) so that nothing else takes its name: a
    /// run retried within the same second writes beside the first one's backup, and the
    /// databases of a fleet that share a name each get their own file.
    pub(crate) fn reserve(&self, dialect: Dialect, at: &[String]) -> Result<PathBuf, String> {
        self.prepare()?;
        let (stem, ext) = self.name(dialect, at);
        reserve(&self.dir, &stem, ext).map_err(|e| format!("cannot create a file in {}: {e}", self.dir.display()))
    }

    /// The backup file's name, without a number, and its extension.
    fn name(&self, dialect: Dialect, at: &[String]) -> (String, &'static str) {
        let name = database_name(&self.url);
        let at = if at.is_empty() { "base".to_owned() } else { at.join("+") };
        let ext = match dialect {
            Dialect::Sqlite => "db",
            Dialect::Postgres => "dump",
            Dialect::MySql => "sql",
        };
        (format!("{name}-{}-at-{at}", timestamp(SystemTime::now())), ext)
    }

    /// The same directory, for the database at `url`.
    pub(crate) fn of(&self, url: &str) -> Self {
        Self { dir: self.dir.clone(), url: url.to_owned() }
    }

    /// The URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory.
    fn prepare(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("cannot create {}: {e}", self.dir.display()))
    }
}

/// Runs a dump tool with the password in its environment (never in its arguments), writing to
/// `path`; the first of `programs` that exists is used.
#[cfg(any(feature = "postgres", feature = "mysql"))]
/// Why a backup could not be written.
#[derive(Debug)]
pub(crate) struct BackupFailure {
    /// What went wrong.
    pub message: String,
    /// The dump tool is not installed.
    pub tool_missing: bool,
}

impl From<String> for BackupFailure {
    fn from(message: String) -> Self {
        Self { message, tool_missing: false }
    }
}

pub(crate) async fn run_tool(
    programs: &[&str],
    args: Vec<String>,
    password_env: &str,
    url: &str,
    path: &Path,
) -> Result<(), BackupFailure> {
    let (_, password) = split_password(url);
    let mut last = BackupFailure::from(String::new());
    for program in programs {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(&args).stdin(std::process::Stdio::null());
        if let Some(p) = &password {
            cmd.env(password_env, p);
        }
        match cmd.output().await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                last = BackupFailure { message: format!("`{program}` is not installed"), tool_missing: true }
            }
            Err(e) => return Err(format!("cannot run `{program}`: {e}").into()),
            Ok(out) if out.status.success() => return Ok(()),
            Ok(out) => {
                let _ = std::fs::remove_file(path);
                let stderr = String::from_utf8_lossy(&out.stderr);
                return Err(
                    format!("`{program}` failed ({}): {}", out.status, crate::scrub_url(url, stderr.trim())).into()
                );
            }
        }
    }
    Err(last)
}

/// Creates `dir/stem.ext`, or else the first of `dir/stem-2.ext`, `dir/stem-3.ext`… that does
/// not exist yet, empty and exclusively (two callers never get the same file).
fn reserve(dir: &Path, stem: &str, ext: &str) -> std::io::Result<PathBuf> {
    let mut path = dir.join(format!("{stem}.{ext}"));
    for n in 2.. {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                path = dir.join(format!("{stem}-{n}.{ext}"));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(path)
}

/// The database's name in `url`: the path's last part (a SQLite file's stem).
fn database_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit(['/', ':']).next().unwrap_or("database");
    let stem = last.strip_suffix(".db").or_else(|| last.strip_suffix(".sqlite")).unwrap_or(last);
    let clean: String = stem.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')).collect();
    if clean.is_empty() { "database".to_owned() } else { clean }
}

/// `20261130T051500Z` for a time, in UTC.
fn timestamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_database_time_and_revision() {
        assert_eq!(timestamp(UNIX_EPOCH + std::time::Duration::from_secs(1_796_010_900)), "20261130T035500Z");
        assert_eq!(database_name("postgres://u:p@h:5432/app?sslmode=require"), "app");
        assert_eq!(database_name("sqlite:///srv/data/app.db"), "app");
        assert_eq!(database_name("sqlite:app.db"), "app");
        let b = Backup::new("/b", "mysql://root@h/shop");
        let (stem, ext) = b.name(Dialect::MySql, &["ab12".to_owned()]);
        assert!(stem.starts_with("shop-") && stem.ends_with("-at-ab12") && ext == "sql", "{stem}.{ext}");
        let (stem, ext) = b.name(Dialect::Sqlite, &[]);
        assert!(stem.ends_with("-at-base") && ext == "db", "{stem}.{ext}");
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        for url in ["postgres://app:s3cr3t@db/app", "postgres://app@db/app?password=s3cr3t"] {
            let shown = format!("{:?}", Backup::new("/b", url));
            assert!(!shown.contains("s3cr3t") && shown.contains("***"), "{shown}");
        }
    }

    #[test]
    fn a_name_already_taken_gets_a_number_and_each_caller_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(reserve(d, "app-at-base", "db").unwrap(), d.join("app-at-base.db"));
        assert!(d.join("app-at-base.db").is_file(), "the name is taken at once");
        assert_eq!(reserve(d, "app-at-base", "db").unwrap(), d.join("app-at-base-2.db"));
        assert_eq!(reserve(d, "app-at-base", "db").unwrap(), d.join("app-at-base-3.db"));
        let b = Backup::new(d.join("made/here"), "sqlite:app.db");
        let first = b.reserve(Dialect::Sqlite, &[]).unwrap();
        let second = b.of("sqlite:///elsewhere/app.db").reserve(Dialect::Sqlite, &[]).unwrap();
        assert!(first.is_file() && second.is_file() && first != second, "{first:?} {second:?}");
    }
}
