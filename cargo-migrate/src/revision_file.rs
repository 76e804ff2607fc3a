//! Writing new revision files (`new` and `merge`): fresh ids, slug file names, the header, and a
//! check with migrate-core's parser before anything touches the disk.

use std::path::{Path, PathBuf};

use migrate_core::{RevisionGraph, is_valid_id, is_valid_label};

use crate::error::CliError;

/// What goes into a new revision file.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewRevision {
    /// The id.
    pub(crate) id: String,
    /// The parents (empty for a base).
    pub(crate) parents: Vec<String>,
    /// The message.
    pub(crate) message: String,
    /// `depends_on`.
    pub(crate) depends_on: Vec<String>,
    /// `branch_labels`.
    pub(crate) branch_labels: Vec<String>,
    /// Whether to write the irreversible marker.
    pub(crate) irreversible: bool,
    /// When it was created, RFC 3339 UTC.
    pub(crate) created: String,
}

/// The placeholder reason written by `new --irreversible`.
pub(crate) const IRREVERSIBLE_PLACEHOLDER: &str = "TODO say why this revision cannot be undone";

/// A fresh 12-hex-digit id that no revision in `graph` uses.
pub(crate) fn fresh_id(graph: Option<&RevisionGraph>) -> String {
    loop {
        let id = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        if graph.is_none_or(|g| g.get(&id).is_none()) {
            return id;
        }
    }
}

/// Checks an id given with `--rev-id`.
pub(crate) fn check_rev_id(id: &str, graph: Option<&RevisionGraph>) -> Result<(), CliError> {
    if !is_valid_id(id) {
        return Err(CliError::Usage {
            message: format!("`{id}` is not a valid revision id"),
            help: "revision ids may only use letters, digits and `_`".to_owned(),
        });
    }
    if let Some(m) = graph.and_then(|g| g.get(id)) {
        return Err(CliError::Usage {
            message: format!("revision `{id}` already exists ({})", m.path),
            help: "choose another `--rev-id`, or leave it out for a random one".to_owned(),
        });
    }
    Ok(())
}

/// Checks a label given with `--branch-label`.
pub(crate) fn check_label(label: &str, graph: Option<&RevisionGraph>) -> Result<(), CliError> {
    if !is_valid_label(label) {
        return Err(CliError::Usage {
            message: format!("`{label}` is not a valid branch label"),
            help: "branch labels may only use letters, digits, `_`, `-` and `.`".to_owned(),
        });
    }
    if let Some(i) = graph.and_then(|g| g.label(label)) {
        let m = graph.map(|g| g.migration(i));
        return Err(CliError::Usage {
            message: format!(
                "branch label `{label}` is already declared by `{}`",
                m.map(|m| m.revision.as_str()).unwrap_or_default()
            ),
            help: "choose another label".to_owned(),
        });
    }
    Ok(())
}

/// The message on one line.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A file-name slug: lowercase words joined by `_`, at most 40 characters.
pub(crate) fn slug(message: &str) -> String {
    let mut out = String::new();
    for word in message.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_ascii_lowercase();
        let extra = usize::from(!out.is_empty());
        if out.len() + extra + word.len() > 40 {
            if out.is_empty() {
                out.push_str(&word[..40]);
            }
            break;
        }
        if extra == 1 {
            out.push('_');
        }
        out.push_str(&word);
    }
    if out.is_empty() { "revision".to_owned() } else { out }
}

/// Now, as RFC 3339 in UTC to the second.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl NewRevision {
    /// The file name: `<id>_<slug>.sql`.
    pub(crate) fn file_name(&self) -> String {
        format!("{}_{}.sql", self.id, slug(&self.message))
    }

    /// The file's text.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("-- revision: {}\n", self.id));
        s.push_str(&format!("-- down_revision: {}\n", self.parents.join(", ")).replace(": \n", ":\n"));
        s.push_str(&format!("-- message: {}\n", one_line(&self.message)));
        s.push_str(&format!("-- created: {}\n", self.created));
        if !self.depends_on.is_empty() {
            s.push_str(&format!("-- depends_on: {}\n", self.depends_on.join(", ")));
        }
        if !self.branch_labels.is_empty() {
            s.push_str(&format!("-- branch_labels: {}\n", self.branch_labels.join(", ")));
        }
        s.push_str("\n-- migrate:up\n\n\n");
        if self.irreversible {
            s.push_str(&format!("-- migrate:down irreversible: {IRREVERSIBLE_PLACEHOLDER}\n"));
        } else {
            s.push_str("-- migrate:down\n\n");
        }
        s
    }

    /// Writes the file into `dir` after checking it parses; refuses to overwrite.
    pub(crate) fn write(&self, dir: &Path, display_dir: &str) -> Result<PathBuf, CliError> {
        let name = self.file_name();
        let shown = format!("{}/{name}", display_dir.trim_end_matches('/'));
        let text = self.render();
        if let Err(problems) = migrate_core::parse(&shown, &text) {
            return Err(CliError::Usage {
                message: format!("the new revision would not parse: {problems}"),
                help: "check the message, ids and labels given".to_owned(),
            });
        }
        let path = dir.join(&name);
        let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(CliError::FileExists { path: shown });
            }
            Err(e) => return Err(CliError::Io { path: shown, message: e.to_string() }),
        };
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(|e| CliError::Io { path: shown, message: e.to_string() })?;
        Ok(path)
    }
}

/// The id (`--rev-id`, checked, or a fresh one) and branch labels (`--branch-label`, checked) of a
/// new revision in `graph`.
pub(crate) fn id_and_labels(
    rev_id: Option<&str>,
    label: Option<&str>,
    graph: &RevisionGraph,
) -> Result<(String, Vec<String>), CliError> {
    let id = match rev_id {
        Some(id) => {
            check_rev_id(id, Some(graph))?;
            id.to_owned()
        }
        None => fresh_id(Some(graph)),
    };
    let labels = match label {
        Some(l) => {
            check_label(l, Some(graph))?;
            vec![l.to_owned()]
        }
        None => Vec::new(),
    };
    Ok((id, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        let cases = [
            ("Add email_verified column to users", "add_email_verified_column_to_users"),
            ("  Hello,   World!  ", "hello_world"),
            ("", "revision"),
            ("ééé", "revision"),
            (
                "a very long message that keeps going on and on past the limit",
                "a_very_long_message_that_keeps_going_on",
            ),
            (&"x".repeat(60), &"x".repeat(40)),
        ];
        for (message, want) in cases {
            assert_eq!(slug(message), want, "{message}");
        }
    }

    #[test]
    fn fresh_ids_are_twelve_hex_digits() {
        for _ in 0..100 {
            let id = fresh_id(None);
            assert_eq!(id.len(), 12);
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn rendered_files_parse_back() {
        let rev = NewRevision {
            id: "abc123".into(),
            parents: vec!["p1".into(), "p2".into()],
            message: "merge\nheads".into(),
            depends_on: vec!["d1".into()],
            branch_labels: vec!["billing".into()],
            irreversible: true,
            created: "2026-11-21T15:00:00Z".into(),
        };
        let m = migrate_core::parse("m/x.sql", &rev.render()).unwrap();
        assert_eq!(m.revision, "abc123");
        assert_eq!(m.down_revisions, ["p1", "p2"]);
        assert_eq!(m.message, "merge heads");
        assert_eq!(m.depends_on, ["d1"]);
        assert_eq!(m.branch_labels, ["billing"]);
        assert_eq!(m.created.as_deref(), Some("2026-11-21T15:00:00Z"));
        assert!(matches!(m.down, migrate_core::Down::Irreversible { .. }));
        let base = NewRevision { id: "b1".into(), created: "x".into(), ..Default::default() };
        let m = migrate_core::parse("m/b.sql", &base.render()).unwrap();
        assert!(m.down_revisions.is_empty());
        assert!(base.render().contains("-- down_revision:\n"));
    }
}
