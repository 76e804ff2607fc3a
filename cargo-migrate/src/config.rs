//! Turns raw flags, the package's `[package.metadata.migrate]`, the environment and `.env` into a
//! validated [`Config`] before any command runs.
//!
//! Database URL precedence: `--database-url`, then `DATABASE_URL` from the environment, then
//! `DATABASE_URL` from a `.env` file in the package (or workspace) directory, then
//! `database_url` in the metadata, then the embedded default `sqlite:migrate.db` (a file beside
//! the package's Cargo.toml, created on first use). Relative SQLite paths from `DATABASE_URL`,
//! the metadata, `.env` and the default are relative to the package (or the directory of the
//! `.env` that declares them), so the tool works the same from any working directory; only
//! `--database-url` is relative to the working directory, as a path typed there is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use migrate_core::{HeadPolicy, LockMode};
use serde::Deserialize;

use crate::cli::GlobalOpts;
use crate::error::CliError;

/// The embedded default database URL, relative to the package directory.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite:migrate.db";
/// The default migrations directory, relative to the package directory.
pub(crate) const DEFAULT_DIRECTORY: &str = "migrations";

/// The package the command works on.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    /// The package name.
    pub(crate) name: String,
    /// Its `Cargo.toml`.
    pub(crate) manifest_path: PathBuf,
    /// The directory holding its `Cargo.toml`.
    pub(crate) dir: PathBuf,
    /// The workspace root.
    pub(crate) workspace_root: PathBuf,
    /// `[package.metadata]` as JSON.
    pub(crate) metadata: serde_json::Value,
}

/// `[package.metadata.migrate]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MigrateMetadata {
    /// The migrations directory, relative to the package.
    pub(crate) directory: Option<String>,
    /// The database URL used when none is given.
    pub(crate) database_url: Option<String>,
    /// The history table's name.
    pub(crate) history_table: Option<String>,
    /// The log table's name.
    pub(crate) log_table: Option<String>,
    /// The schema holding both tables (PostgreSQL).
    pub(crate) schema: Option<String>,
    /// How long to wait for the migration lock, e.g. `"30s"`.
    pub(crate) lock_timeout: Option<String>,
    /// Which lock keeps other runs out: `auto`, `session` or `table`.
    pub(crate) lock: Option<String>,
    /// How long a lock-table claim lives without a heartbeat, e.g. `"30s"`.
    pub(crate) lock_lease: Option<String>,
    /// Branch labels kept as separate heads on purpose.
    pub(crate) branches: Option<Vec<String>>,
    /// Where upgrades and downgrades write a backup first, relative to the package.
    pub(crate) backup: Option<String>,
    /// The desired schema as DDL, relative to the package (default `schema.sql` when it exists).
    pub(crate) schema_file: Option<String>,
    /// The server scratch databases are created on (default: the database's own server).
    pub(crate) dev_url: Option<String>,
}

/// Where the database URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UrlSource {
    /// `--database-url`.
    Flag,
    /// `DATABASE_URL` in the environment.
    Env,
    /// `DATABASE_URL` in a `.env` file.
    DotEnv(PathBuf),
    /// `database_url` in `[package.metadata.migrate]`.
    Metadata(PathBuf),
    /// The app's own default, in an app's migration CLI.
    App,
    /// The embedded SQLite default.
    Default,
}

impl UrlSource {
    /// Whether the URL was given explicitly for this run (flag, environment or `.env`), as
    /// opposed to a development default.
    pub(crate) fn is_explicit(&self) -> bool {
        matches!(self, Self::Flag | Self::Env | Self::DotEnv(_) | Self::App)
    }

    /// How to say where it came from.
    pub(crate) fn describe(&self, cwd: &Path) -> String {
        match self {
            Self::Flag => "--database-url".to_owned(),
            Self::Env => "DATABASE_URL in the environment".to_owned(),
            Self::DotEnv(p) => format!("DATABASE_URL in {}", display_path(p, cwd)),
            Self::Metadata(p) => format!("database_url in [package.metadata.migrate] of {}", display_path(p, cwd)),
            Self::App => "the app's default".to_owned(),
            Self::Default => format!("the embedded default `{DEFAULT_DATABASE_URL}`"),
        }
    }
}

/// A database URL and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseUrl {
    /// The URL to connect with (may hold a password: never print it, use [`migrate_core::redact_url`]).
    pub(crate) url: String,
    /// Where it came from.
    pub(crate) source: UrlSource,
}

impl DatabaseUrl {
    /// The URL with its password replaced by `***`.
    pub(crate) fn redacted(&self) -> String {
        migrate_core::redact_url(&self.url)
    }
}

/// Everything a command needs to know, validated.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The package.
    pub(crate) package: Package,
    /// The working directory paths are shown relative to.
    pub(crate) cwd: PathBuf,
    /// The migrations directory.
    pub(crate) migrations_dir: PathBuf,
    /// The migrations directory as shown to people.
    pub(crate) migrations_display: String,
    /// The database.
    pub(crate) database: DatabaseUrl,
    /// `[package.metadata.migrate]`.
    pub(crate) metadata: MigrateMetadata,
    /// The parsed lock timeout.
    pub(crate) lock_timeout: Option<Duration>,
    /// The lock mode: `--lock`, else `lock` in the metadata, else auto.
    pub(crate) lock: LockMode,
    /// The parsed lock lease.
    pub(crate) lock_lease: Option<Duration>,
    /// The migrations are embedded in an app (its own migration CLI): no files, no metadata.
    pub(crate) embedded: bool,
}

impl Config {
    /// Resolves the configuration from flags, metadata and the environment.
    pub(crate) fn load(global: &GlobalOpts) -> Result<Self, CliError> {
        let cwd = std::env::current_dir().map_err(|e| CliError::Io { path: ".".into(), message: e.to_string() })?;
        let package = find_package(global, &cwd)?;
        Self::for_package(global, package, cwd)
    }

    /// Resolves the configuration of an already-found package.
    pub(crate) fn for_package(global: &GlobalOpts, package: Package, cwd: PathBuf) -> Result<Self, CliError> {
        let metadata = read_metadata(&package)?;
        let manifest = display_path(&package.manifest_path, &cwd);
        let duration = |key: &str, value: &Option<String>| match value {
            None => Ok(None),
            Some(text) => humantime::parse_duration(text).map(Some).map_err(|e| CliError::Metadata {
                manifest: manifest.clone(),
                message: format!("{key} = \"{text}\" is not a duration ({e})"),
                help: "write a duration such as \"30s\" or \"2m\"".to_owned(),
            }),
        };
        let lock_timeout = duration("lock_timeout", &metadata.lock_timeout)?;
        let lock_lease = duration("lock_lease", &metadata.lock_lease)?;
        let lock = match (global.lock, &metadata.lock) {
            (Some(mode), _) => mode.into(),
            (None, None) => LockMode::Auto,
            (None, Some(name)) => LockMode::parse(name).ok_or_else(|| CliError::Metadata {
                manifest: manifest.clone(),
                message: format!("lock = \"{name}\" is not a lock mode"),
                help: "write lock = \"auto\" (the default), \"session\" or \"table\"".to_owned(),
            })?,
        };
        let migrations_dir = match (&global.dir, &metadata.directory) {
            (Some(dir), _) => cwd.join(dir),
            (None, Some(dir)) => package.dir.join(dir),
            (None, None) => package.dir.join(DEFAULT_DIRECTORY),
        };
        let migrations_display = display_path(&migrations_dir, &cwd);
        let database = database_url(global, &package, &metadata)?;
        Ok(Self {
            package,
            cwd,
            migrations_dir,
            migrations_display,
            database,
            metadata,
            lock_timeout,
            lock,
            lock_lease,
            embedded: false,
        })
    }

    /// The configuration of an app's own migration CLI (`<app> migrate …`): the migrations are
    /// embedded in `program`, so there is no package, no metadata and no migrations directory;
    /// the database comes from `--database-url`, `DATABASE_URL` (also from `.env` in the working
    /// directory), else `default_url`, else the embedded SQLite default.
    pub(crate) fn embedded(
        global: &GlobalOpts,
        program: &str,
        branches: Vec<String>,
        default_url: Option<&str>,
    ) -> Result<Self, CliError> {
        if global.dir.is_some() || global.manifest_path.is_some() || global.package.is_some() {
            return Err(CliError::Usage {
                message: format!(
                    "the migrations are embedded in {program}: --dir, --manifest-path and -p do not apply"
                ),
                help: "run cargo migrate in the source tree to work on the migration files".to_owned(),
            });
        }
        let cwd = std::env::current_dir().map_err(|e| CliError::Io { path: ".".into(), message: e.to_string() })?;
        let package = Package {
            name: program.to_owned(),
            manifest_path: PathBuf::from(program),
            dir: cwd.clone(),
            workspace_root: cwd.clone(),
            metadata: serde_json::Value::Null,
        };
        let metadata = MigrateMetadata {
            branches: (!branches.is_empty()).then_some(branches),
            database_url: default_url.map(str::to_owned),
            ..MigrateMetadata::default()
        };
        let mut database = database_url(global, &package, &metadata)?;
        if database.source == UrlSource::Metadata(package.manifest_path.clone()) {
            database.source = UrlSource::App;
        }
        Ok(Self {
            migrations_dir: PathBuf::from(program),
            migrations_display: format!("the migrations embedded in {program}"),
            database,
            metadata,
            lock_timeout: None,
            lock: global.lock.map_or(LockMode::Auto, Into::into),
            lock_lease: None,
            embedded: true,
            package,
            cwd,
        })
    }

    /// The head policy declared in the metadata (`branches = [...]`), as the macro applies it.
    pub(crate) fn head_policy(&self) -> HeadPolicy {
        match &self.metadata.branches {
            Some(b) if !b.is_empty() => HeadPolicy::Branches(b.clone()),
            _ => HeadPolicy::Single,
        }
    }

    /// The desired schema file: `schema_file` from the metadata, else `schema.sql` beside
    /// Cargo.toml when it exists.
    pub(crate) fn schema_file(&self) -> Option<PathBuf> {
        if self.embedded {
            return None;
        }
        match &self.metadata.schema_file {
            Some(f) => Some(self.package.dir.join(f)),
            None => Some(self.package.dir.join("schema.sql")).filter(|p| p.is_file()),
        }
    }

    /// `path` as shown to people (relative to the working directory when inside it).
    pub(crate) fn show(&self, path: &Path) -> String {
        display_path(path, &self.cwd)
    }
}

/// Finds the package to work on: `-p`, else the package whose manifest is `--manifest-path` or
/// the nearest `Cargo.toml` above the working directory, else the only workspace member.
///
/// A manifest with a `[package]` of its own is read directly, without starting cargo (a tenth
/// of a command's time on a no-op run); `-p`, a virtual workspace manifest, or a manifest this
/// reader cannot take ask `cargo metadata`. With `--dir` and no `Cargo.toml` at all, the
/// working directory stands in for the package, so the tool runs where cargo is not installed.
pub(crate) fn find_package(global: &GlobalOpts, cwd: &Path) -> Result<Package, CliError> {
    let manifest = match &global.manifest_path {
        Some(p) => Some(cwd.join(p)).filter(|p| p.is_file()),
        None => cwd.ancestors().map(|d| d.join("Cargo.toml")).find(|p| p.is_file()),
    };
    if global.package.is_none() {
        match &manifest {
            Some(m) => {
                if let Some(package) = read_package(m) {
                    return Ok(package);
                }
            }
            None if global.manifest_path.is_none() && global.dir.is_some() => {
                return Ok(Package {
                    name: String::new(),
                    manifest_path: cwd.join("Cargo.toml"),
                    dir: cwd.to_path_buf(),
                    workspace_root: cwd.to_path_buf(),
                    metadata: serde_json::Value::Null,
                });
            }
            None => {}
        }
    }
    with_cargo(global, cwd)
}

/// The package of a manifest that has a `[package]` table, read without cargo; `None` when
/// cargo must decide (a virtual manifest, or text this reader does not take).
fn read_package(manifest: &Path) -> Option<Package> {
    #[derive(Deserialize)]
    struct Manifest {
        package: Option<PackageTable>,
        workspace: Option<serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct PackageTable {
        name: String,
        #[serde(default)]
        metadata: serde_json::Value,
        workspace: Option<String>,
    }
    let text = std::fs::read_to_string(manifest).ok()?;
    let parsed: Manifest = toml_edit::de::from_str(&text).ok()?;
    let package = parsed.package?;
    let manifest_path = manifest.canonicalize().unwrap_or_else(|_| manifest.to_path_buf());
    let dir = manifest_path.parent()?.to_path_buf();
    let workspace_root = match (&package.workspace, parsed.workspace) {
        (Some(root), _) => dir.join(root),
        (None, Some(_)) => dir.clone(),
        // The nearest manifest above with a `[workspace]` table, as cargo looks for it.
        (None, None) => dir
            .ancestors()
            .skip(1)
            .map(|d| d.join("Cargo.toml"))
            .filter(|p| p.is_file())
            .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]")))
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| dir.clone()),
    };
    Some(Package { name: package.name, manifest_path, dir, workspace_root, metadata: package.metadata })
}

/// [`find_package`] through `cargo metadata`.
fn with_cargo(global: &GlobalOpts, cwd: &Path) -> Result<Package, CliError> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    let manifest = match &global.manifest_path {
        Some(p) => {
            let p = cwd.join(p);
            if !p.is_file() {
                return Err(CliError::ManifestNotFound { path: display_path(&p, cwd) });
            }
            cmd.manifest_path(&p);
            Some(p)
        }
        None => {
            cmd.current_dir(cwd);
            cwd.ancestors().map(|d| d.join("Cargo.toml")).find(|p| p.is_file())
        }
    };
    if manifest.is_none() {
        return Err(CliError::ManifestNotFound { path: display_path(&cwd.join("Cargo.toml"), cwd) });
    }
    let metadata = cmd.exec().map_err(|e| CliError::CargoMetadata { message: e.to_string() })?;
    let members = metadata.workspace_packages();
    let same_file = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let chosen = if let Some(name) = &global.package {
        let name = name.split(['@', ':']).next().unwrap_or(name);
        members.iter().find(|p| p.name.as_str() == name).copied().ok_or_else(|| CliError::PackageNotFound {
            name: name.to_owned(),
            available: members.iter().map(|p| p.name.to_string()).collect(),
        })?
    } else {
        let by_manifest = manifest
            .as_deref()
            .and_then(|m| members.iter().find(|p| same_file(p.manifest_path.as_std_path(), m)).copied());
        match by_manifest {
            Some(p) => p,
            None if members.len() == 1 => members[0],
            None => {
                return Err(CliError::AmbiguousPackage {
                    available: members.iter().map(|p| p.name.to_string()).collect(),
                });
            }
        }
    };
    let manifest_path = chosen.manifest_path.clone().into_std_path_buf();
    let dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.to_path_buf());
    Ok(Package {
        name: chosen.name.to_string(),
        manifest_path,
        dir,
        workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
        metadata: chosen.metadata.clone(),
    })
}

/// Reads and validates `[package.metadata.migrate]`.
pub(crate) fn read_metadata(package: &Package) -> Result<MigrateMetadata, CliError> {
    let Some(value) = package.metadata.get("migrate") else {
        return Ok(MigrateMetadata::default());
    };
    let metadata: MigrateMetadata = serde_json::from_value(value.clone()).map_err(|e| CliError::Metadata {
        manifest: package.manifest_path.display().to_string(),
        message: format!("[package.metadata.migrate]: {e}"),
        help:
            "the keys are directory, database_url, history_table, log_table, schema, lock_timeout, lock, lock_lease, branches, backup, schema_file and dev_url"
                .to_owned(),
    })?;
    // Table and schema names are written into every offline script: no character in them may
    // end a comment or a line early in any client.
    let names =
        [("history_table", &metadata.history_table), ("log_table", &metadata.log_table), ("schema", &metadata.schema)];
    for (key, value) in names {
        if let Some(c) = value.as_deref().and_then(|v| v.chars().find(|&c| migrate_core::text::is_unsafe_char(c))) {
            return Err(CliError::Metadata {
                manifest: package.manifest_path.display().to_string(),
                message: format!(
                    "[package.metadata.migrate]: `{key}` contains the control character U+{:04X}",
                    u32::from(c)
                ),
                help: format!("give `{key}` a plain one-line name"),
            });
        }
    }
    Ok(metadata)
}

fn database_url(global: &GlobalOpts, package: &Package, metadata: &MigrateMetadata) -> Result<DatabaseUrl, CliError> {
    if let Some(url) = global.database_url.first() {
        return Ok(DatabaseUrl { url: url.clone(), source: UrlSource::Flag });
    }
    if let Some(url) = std::env::var_os("DATABASE_URL") {
        let url = url.into_string().map_err(|_| CliError::Usage {
            message: "DATABASE_URL is not valid UTF-8".to_owned(),
            help: "set it to a URL such as postgres://user@host/db".to_owned(),
        })?;
        if !url.is_empty() {
            // A relative SQLite path means the same file from any directory of the package.
            return Ok(DatabaseUrl { url: absolute_sqlite(&url, &package.dir), source: UrlSource::Env });
        }
    }
    let mut env_dirs = vec![package.dir.clone()];
    if package.workspace_root != package.dir {
        env_dirs.push(package.workspace_root.clone());
    }
    for dir in env_dirs {
        let path = dir.join(".env");
        if !path.is_file() {
            continue;
        }
        let items = dotenvy::from_path_iter(&path)
            .map_err(|e| CliError::DotEnv { path: path.display().to_string(), message: e.to_string() })?;
        for item in items {
            let (key, value) =
                item.map_err(|e| CliError::DotEnv { path: path.display().to_string(), message: e.to_string() })?;
            if key == "DATABASE_URL" && !value.is_empty() {
                return Ok(DatabaseUrl { url: absolute_sqlite(&value, &dir), source: UrlSource::DotEnv(path) });
            }
        }
    }
    if let Some(url) = &metadata.database_url {
        return Ok(DatabaseUrl {
            url: absolute_sqlite(url, &package.dir),
            source: UrlSource::Metadata(package.manifest_path.clone()),
        });
    }
    Ok(DatabaseUrl { url: absolute_sqlite(DEFAULT_DATABASE_URL, &package.dir), source: UrlSource::Default })
}

/// Makes a relative SQLite path absolute against `base`; other URLs are returned unchanged.
pub(crate) fn absolute_sqlite(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return url.to_owned();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    let full = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", full.display()),
        None => format!("sqlite://{}", full.display()),
    }
}

/// `path` relative to `cwd` when inside it, else as is.
pub(crate) fn display_path(path: &Path, cwd: &Path) -> String {
    let relative = |p: &Path, base: &Path| -> Option<String> {
        let rest = p.strip_prefix(base).ok()?;
        Some(if rest.as_os_str().is_empty() { ".".to_owned() } else { rest.display().to_string() })
    };
    relative(path, cwd)
        .or_else(|| relative(&path.canonicalize().ok()?, &cwd.canonicalize().ok()?))
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_are_anchored() {
        let base = Path::new("/pkg");
        assert_eq!(absolute_sqlite("sqlite:migrate.db", base), "sqlite:///pkg/migrate.db");
        assert_eq!(absolute_sqlite("sqlite://data/x.db?mode=rwc", base), "sqlite:///pkg/data/x.db?mode=rwc");
        assert_eq!(absolute_sqlite("sqlite:///abs/x.db", base), "sqlite:///abs/x.db");
        assert_eq!(absolute_sqlite("sqlite::memory:", base), "sqlite::memory:");
        assert_eq!(absolute_sqlite("postgres://h/db", base), "postgres://h/db");
    }
}
