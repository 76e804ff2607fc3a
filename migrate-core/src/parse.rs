//! The migration file parser: a header of `-- key: value` lines, then `-- migrate:up` and
//! `-- migrate:down` sections. Pure: text in, [`Migration`] or every problem out.

use crate::checksum::{Checksum, normalize};
use crate::migration::{Down, Lines, Migration, is_valid_id, is_valid_label};
use crate::problem::{Location, Problem, ProblemKind, Problems, closest};
use crate::text::is_unsafe_char;

/// The longest revision id the history tables hold (`VARCHAR(255)`).
pub const MAX_ID_LEN: usize = 255;

const KEYS: [&str; 8] =
    ["revision", "down_revision", "message", "created", "depends_on", "branch_labels", "transaction", "replaces"];

/// Parses a migration file's bytes; non-UTF-8 input is a [`ProblemKind::NotUtf8`] problem.
pub fn parse_bytes(path: &str, bytes: &[u8]) -> Result<Migration, Problems> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(path, text),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count();
            Err(Problem::new(ProblemKind::NotUtf8, Location::new(path, line as u32, 1)).into())
        }
    }
}

/// Parses one migration file. `path` is only used in messages and stored in the result.
///
/// Every problem in the file is returned at once.
pub fn parse(path: &str, text: &str) -> Result<Migration, Problems> {
    let normalized = normalize(text);
    let mut p = Parser { path, problems: Vec::new(), lines: Lines::default(), header: Header::default() };
    let mut section: Option<Section> = None;
    let mut up: Option<(String, u32)> = None;
    let mut down: Option<(DownStart, String, u32)> = None;

    for (index, raw) in normalized.split_inclusive('\n').enumerate() {
        let line_no = index as u32 + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        if let Some(marker) = section_marker(trimmed) {
            match marker {
                Marker::Up => {
                    if p.lines.up != 0 {
                        p.problem(ProblemKind::DuplicateSection { section: "up", first_line: p.lines.up }, line_no, 1);
                    } else {
                        p.lines.up = line_no;
                        up = Some((String::new(), line_no + 1));
                    }
                    section = Some(Section::Up);
                }
                Marker::Down(start) => {
                    if p.lines.down != 0 {
                        p.problem(
                            ProblemKind::DuplicateSection { section: "down", first_line: p.lines.down },
                            line_no,
                            1,
                        );
                    } else {
                        if matches!(start, DownStart::Irreversible(ref r) if r.is_empty()) {
                            p.problem(ProblemKind::MissingIrreversibleReason, line_no, 1);
                        }
                        if let DownStart::Irreversible(reason) = &start
                            && let Some(character) = reason.chars().find(|&c| is_unsafe_char(c))
                        {
                            let column = line.chars().position(|c| c == character).map_or(1, |p| p as u32 + 1);
                            let key = "irreversible".to_owned();
                            p.problem(ProblemKind::ControlCharacter { key, character }, line_no, column);
                        }
                        p.lines.down = line_no;
                        down = Some((start, String::new(), line_no + 1));
                    }
                    section = Some(Section::Down);
                }
                Marker::Unknown(marker) => {
                    p.problem(ProblemKind::UnknownSection { marker: marker.to_owned() }, line_no, 1);
                    section = Some(Section::Ignored);
                }
            }
            continue;
        }
        match section {
            None => p.header_line(line, line_no),
            Some(Section::Up) if p.lines.up != 0 => push(&mut up, raw),
            Some(Section::Down) if p.lines.down != 0 => push_down(&mut down, raw),
            Some(_) => {}
        }
    }

    let Parser { mut problems, lines, header, .. } = p;
    if lines.revision == 0 {
        let from_file_name = file_stem_id(path);
        problems.insert(0, Problem::new(ProblemKind::MissingRevision { from_file_name }, Location::new(path, 1, 1)));
    }
    if lines.down_revision == 0 && lines.revision != 0 {
        problems.push(Problem::new(ProblemKind::MissingDownRevision, Location::new(path, lines.revision, 1)));
    }
    if up.is_none() {
        problems.push(Problem::new(ProblemKind::MissingUp, Location::new(path, 1, 1)));
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.location.cmp(&b.location));
        return Err(Problems(problems));
    }
    let (mut up, up_line) = up.unwrap_or_default();
    if let Some(line) = strip_client_stop(&mut up, up_line) {
        return Err(Problem::new(ProblemKind::ClientStopNotLast, Location::new(path, line, 1)).into());
    }
    let down = match down {
        None => Down::Missing,
        Some((DownStart::Irreversible(reason), _, _)) => Down::Irreversible { reason },
        Some((DownStart::Sql, sql, line)) => Down::Sql { sql, line },
    };
    Ok(Migration {
        path: path.to_owned(),
        revision: header.revision,
        down_revisions: header.down_revisions,
        depends_on: header.depends_on,
        branch_labels: header.branch_labels,
        replaces: header.replaces,
        message: header.message,
        created: header.created,
        transaction: header.transaction,
        up,
        up_line,
        down,
        checksum: Checksum::of(&normalized),
        lines,
    })
}

/// Whether a line is a client stop: `.quit` ends sqlite3's reading of a file, `\q` psql's and
/// mysql's. Neither is SQL in any dialect.
fn is_client_stop(trimmed: &str) -> bool {
    trimmed == ".quit" || trimmed == "\\q"
}

/// Removes the client stop that ends an up section (`cargo migrate new` writes one, so that a
/// file fed whole to a database client stops before its downgrade instead of undoing what it
/// just did). Only blank lines and comments may follow it; otherwise returns the stop's line.
fn strip_client_stop(up: &mut String, first_line: u32) -> Option<u32> {
    let lines: Vec<&str> = up.split_inclusive('\n').collect();
    let first = lines.iter().position(|l| is_client_stop(l.trim()))?;
    let rest_is_stop =
        lines[first..].iter().map(|l| l.trim()).all(|t| t.is_empty() || t.starts_with("--") || is_client_stop(t));
    if !rest_is_stop {
        return Some(first_line + first as u32);
    }
    let cut = lines[..first].iter().map(|l| l.len()).sum();
    up.truncate(cut);
    None
}

fn push(section: &mut Option<(String, u32)>, raw: &str) {
    if let Some((sql, _)) = section {
        sql.push_str(raw);
    }
}

fn push_down(section: &mut Option<(DownStart, String, u32)>, raw: &str) {
    if let Some((_, sql, _)) = section {
        sql.push_str(raw);
    }
}

#[derive(Clone, Copy)]
enum Section {
    Up,
    Down,
    Ignored,
}

enum DownStart {
    Sql,
    Irreversible(String),
}

enum Marker<'a> {
    Up,
    Down(DownStart),
    Unknown(&'a str),
}

/// Recognises `-- migrate:up`, `-- migrate:down [irreversible: reason]` and other `-- migrate:` lines.
fn section_marker(trimmed: &str) -> Option<Marker<'_>> {
    let rest = trimmed.strip_prefix("--")?.trim_start().strip_prefix("migrate:")?;
    let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let tail = tail.trim();
    match word {
        "up" if tail.is_empty() => Some(Marker::Up),
        "down" if tail.is_empty() => Some(Marker::Down(DownStart::Sql)),
        "down" => match tail.strip_prefix("irreversible") {
            Some(reason) => {
                let reason = reason.trim_start().strip_prefix(':').unwrap_or(reason).trim();
                Some(Marker::Down(DownStart::Irreversible(reason.to_owned())))
            }
            None => Some(Marker::Unknown(trimmed)),
        },
        _ => Some(Marker::Unknown(trimmed)),
    }
}

struct Header {
    revision: String,
    down_revisions: Vec<String>,
    depends_on: Vec<String>,
    branch_labels: Vec<String>,
    replaces: Vec<String>,
    message: String,
    created: Option<String>,
    transaction: bool,
    transaction_line: u32,
    message_line: u32,
    created_line: u32,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            revision: String::new(),
            down_revisions: Vec::new(),
            depends_on: Vec::new(),
            branch_labels: Vec::new(),
            replaces: Vec::new(),
            message: String::new(),
            created: None,
            transaction: true,
            transaction_line: 0,
            message_line: 0,
            created_line: 0,
        }
    }
}

struct Parser<'a> {
    path: &'a str,
    problems: Vec<Problem>,
    lines: Lines,
    header: Header,
}

impl Parser<'_> {
    fn problem(&mut self, kind: ProblemKind, line: u32, column: u32) {
        self.problems.push(Problem::new(kind, Location::new(self.path, line, column)));
    }

    fn header_line(&mut self, line: &str, line_no: u32) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return;
        }
        let Some(comment) = trimmed.strip_prefix("--") else {
            let column = 1 + line.len() - line.trim_start().len();
            self.problem(ProblemKind::SqlOutsideSection, line_no, column as u32);
            return;
        };
        let Some((key, value)) = comment.split_once(':') else { return };
        let key = key.trim();
        // Only `-- lowercase_key: value` is a header line; anything else is a comment.
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return;
        }
        let value_column = 1 + line.len() - value.trim_start().len();
        let value_column = value_column as u32;
        let value = value.trim();
        if !KEYS.contains(&key) {
            let suggestion = closest(key, KEYS);
            self.problem(ProblemKind::UnknownHeaderKey { key: key.to_owned(), suggestion }, line_no, 4);
            return;
        }
        let slot = match key {
            "revision" => &mut self.lines.revision,
            "down_revision" => &mut self.lines.down_revision,
            "depends_on" => &mut self.lines.depends_on,
            "branch_labels" => &mut self.lines.branch_labels,
            "replaces" => &mut self.lines.replaces,
            "message" => &mut self.header.message_line,
            "created" => &mut self.header.created_line,
            _ => &mut self.header.transaction_line,
        };
        if *slot != 0 {
            let first_line = *slot;
            self.problem(ProblemKind::DuplicateHeaderKey { key: key.to_owned(), first_line }, line_no, 4);
            return;
        }
        *slot = line_no;
        if let Some((at, character)) = value.chars().enumerate().find(|&(_, c)| is_unsafe_char(c)) {
            // Refused before anything uses the value: it would end a `--` comment early in an
            // offline script (psql reads a lone CR as a line end) or drive a terminal.
            self.problem(
                ProblemKind::ControlCharacter { key: key.to_owned(), character },
                line_no,
                value_column + at as u32,
            );
            return;
        }
        match key {
            "revision" => {
                if is_valid_id(value) && value.len() > MAX_ID_LEN {
                    // The history tables keep ids in VARCHAR(255): a longer one would pass every
                    // check here and fail at run time on PostgreSQL and MySQL.
                    self.problem(
                        ProblemKind::IdTooLong { length: value.len(), max: MAX_ID_LEN },
                        line_no,
                        value_column,
                    );
                } else if is_valid_id(value) {
                    self.header.revision = value.to_owned();
                } else if value.is_empty() {
                    let from_file_name = file_stem_id(self.path);
                    self.problem(ProblemKind::MissingRevision { from_file_name }, line_no, value_column);
                } else {
                    self.problem(
                        ProblemKind::InvalidId { key: "revision", value: value.to_owned() },
                        line_no,
                        value_column,
                    );
                }
            }
            "down_revision" => self.header.down_revisions = self.id_list("down_revision", value, line_no, value_column),
            "depends_on" => self.header.depends_on = self.id_list("depends_on", value, line_no, value_column),
            "replaces" => self.header.replaces = self.id_list("replaces", value, line_no, value_column),
            "branch_labels" => {
                for label in split_list(value) {
                    if is_valid_label(label) {
                        self.header.branch_labels.push(label.to_owned());
                    } else {
                        self.problem(ProblemKind::InvalidLabel { value: label.to_owned() }, line_no, value_column);
                    }
                }
            }
            "message" => self.header.message = value.to_owned(),
            "created" => self.header.created = Some(value.to_owned()),
            _ => match value {
                "true" => self.header.transaction = true,
                "false" => self.header.transaction = false,
                other => {
                    self.problem(ProblemKind::InvalidTransaction { value: other.to_owned() }, line_no, value_column)
                }
            },
        }
    }

    fn id_list(&mut self, key: &'static str, value: &str, line_no: u32, column: u32) -> Vec<String> {
        let mut out = Vec::new();
        for id in split_list(value) {
            if !is_valid_id(id) {
                self.problem(ProblemKind::InvalidId { key, value: id.to_owned() }, line_no, column);
            } else if out.iter().any(|o| o == id) {
                self.problem(ProblemKind::RepeatedId { key, value: id.to_owned() }, line_no, column);
            } else {
                out.push(id.to_owned());
            }
        }
        out
    }
}

/// Splits `a, b, c` (also tolerating Python-style `('a', 'b')` from Alembic files).
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .trim_matches(|c| matches!(c, '(' | ')' | '[' | ']'))
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"'))
        .filter(|s| !s.is_empty() && *s != "None")
}

/// The id a file name like `3f2a9c1b7d4e_add_users.sql` suggests.
fn file_stem_id(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next()?;
    let stem = name.strip_suffix(".sql").unwrap_or(name);
    let id = stem.split('_').next()?;
    (is_valid_id(id) && id.len() >= 4).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(u32, ProblemKind)> {
        parse("m/x.sql", text).unwrap_err().into_iter().map(|p| (p.location.line, p.kind)).collect()
    }

    #[test]
    fn parses_a_full_file() {
        let m = parse(
            "m/a.sql",
            "-- revision: 3f2a9c1b7d4e\n-- down_revision: 9b8c7d6e5f4a, 111111\n-- message: Add email\n-- created: 2026-11-21T15:00:00Z\n-- depends_on: dep1\n-- branch_labels: billing\n-- transaction: false\n\n-- migrate:up\nALTER TABLE users ADD x int;\n\n-- migrate:down\nALTER TABLE users DROP x;\n",
        )
        .unwrap();
        assert_eq!(m.revision, "3f2a9c1b7d4e");
        assert_eq!(m.down_revisions, ["9b8c7d6e5f4a", "111111"]);
        assert_eq!(m.depends_on, ["dep1"]);
        assert_eq!(m.branch_labels, ["billing"]);
        assert_eq!(m.message, "Add email");
        assert_eq!(m.created.as_deref(), Some("2026-11-21T15:00:00Z"));
        assert!(!m.transaction);
        assert_eq!(m.up, "ALTER TABLE users ADD x int;\n\n");
        assert_eq!(m.up_line, 10);
        assert_eq!(m.down, Down::Sql { sql: "ALTER TABLE users DROP x;\n".into(), line: 13 });
        assert_eq!(m.lines.down, 12);
    }

    #[test]
    fn base_revision_and_defaults() {
        let m = parse("a.sql", "-- revision: kilo\n-- down_revision:\n-- migrate:up\n-- migrate:down\n").unwrap();
        assert!(m.down_revisions.is_empty());
        assert!(m.transaction);
        assert_eq!(m.down, Down::Sql { sql: String::new(), line: 5 });
    }

    #[test]
    fn irreversible_marker() {
        let m = parse("a.sql", "-- revision: a1\n-- down_revision:\n-- migrate:up\nDROP TABLE t;\n-- migrate:down irreversible: data is gone\n").unwrap();
        assert_eq!(m.down, Down::Irreversible { reason: "data is gone".into() });
        assert_eq!(
            kinds("-- revision: a1\n-- down_revision:\n-- migrate:up\n-- migrate:down irreversible:\n"),
            [(4, ProblemKind::MissingIrreversibleReason)]
        );
    }

    #[test]
    fn crlf_and_bom_are_normalised() {
        let lf = parse(
            "a.sql",
            "-- revision: a1\n-- down_revision:\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
        )
        .unwrap();
        let crlf = parse("a.sql", "\u{feff}-- revision: a1\r\n-- down_revision:\r\n-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 2;\r\n").unwrap();
        assert_eq!(lf, crlf);
    }

    #[test]
    fn reports_every_problem_with_lines() {
        let found = kinds(
            "-- revison: a\n-- down_revision: a-b\n-- transaction: maybe\nSELECT 1;\n-- migrate:up\n-- migrate:up\n-- migrate:sideways\n",
        );
        assert_eq!(
            found,
            [
                (1, ProblemKind::MissingRevision { from_file_name: None }),
                (1, ProblemKind::UnknownHeaderKey { key: "revison".into(), suggestion: Some("revision") }),
                (2, ProblemKind::InvalidId { key: "down_revision", value: "a-b".into() }),
                (3, ProblemKind::InvalidTransaction { value: "maybe".into() }),
                (4, ProblemKind::SqlOutsideSection),
                (6, ProblemKind::DuplicateSection { section: "up", first_line: 5 }),
                (7, ProblemKind::UnknownSection { marker: "-- migrate:sideways".into() }),
            ]
        );
    }

    #[test]
    fn missing_pieces() {
        assert_eq!(kinds("-- revision: abcd\n"), [(1, ProblemKind::MissingDownRevision), (1, ProblemKind::MissingUp)]);
        let p = parse("m/abcd1234_x.sql", "-- down_revision:\n-- migrate:up\n").unwrap_err();
        assert_eq!(p.0[0].kind, ProblemKind::MissingRevision { from_file_name: Some("abcd1234".into()) });
        assert!(p.to_string().contains("m/abcd1234_x.sql:1:1"), "{p}");
    }

    #[test]
    fn duplicate_header_key() {
        assert_eq!(
            kinds("-- revision: a\n-- revision: b\n-- down_revision:\n-- migrate:up\n"),
            [(2, ProblemKind::DuplicateHeaderKey { key: "revision".into(), first_line: 1 })]
        );
    }

    #[test]
    fn comments_in_header_are_allowed() {
        let m = parse("a.sql", "-- Adds a table. Note: careful\n-- revision: a\n-- down_revision:\n-- migrate:up\n")
            .unwrap();
        assert_eq!(m.revision, "a");
    }

    #[test]
    fn control_characters_in_header_values_are_refused_where_they_are() {
        let text = "-- revision: aaaa\n-- down_revision:\n-- message: harmless\rDROP TABLE victim; --\n\
                    -- created: 2026\u{1b}[2J\n-- migrate:up\nSELECT 1;\n-- migrate:down irreversible: no\u{7}pe\n";
        let found = kinds(text);
        assert_eq!(
            found,
            [
                (3, ProblemKind::ControlCharacter { key: "message".into(), character: '\r' }),
                (4, ProblemKind::ControlCharacter { key: "created".into(), character: '\u{1b}' }),
                (7, ProblemKind::ControlCharacter { key: "irreversible".into(), character: '\u{7}' }),
            ]
        );
        let problems = parse("m/a.sql", text).err().map(|p| p.0).unwrap_or_default();
        assert_eq!(problems[0].location.column, 21, "points at the CR itself");
        // A CRLF file is not affected: its line ends are normalised first.
        assert!(parse("m/a.sql", "-- revision: aaaa\r\n-- down_revision:\r\n-- message: ok\r\n-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 1;\r\n").is_ok());
    }

    #[test]
    fn repeated_parents_and_ids_too_long_for_the_history_table_are_refused() {
        let text = "-- revision: cccc\n-- down_revision: aaaa, aaaa\n-- depends_on: bbbb, bbbb\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n";
        let found = kinds(text);
        assert_eq!(
            found,
            [
                (2, ProblemKind::RepeatedId { key: "down_revision", value: "aaaa".into() }),
                (3, ProblemKind::RepeatedId { key: "depends_on", value: "bbbb".into() }),
            ]
        );
        let long = "x".repeat(256);
        let text =
            format!("-- revision: {long}\n-- down_revision:\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n");
        assert_eq!(kinds(&text), [(1, ProblemKind::IdTooLong { length: 256, max: 255 })]);
        assert!(parse("m/x.sql", &text.replace(&long, &"x".repeat(255))).is_ok());
    }

    #[test]
    fn not_utf8() {
        let err = parse_bytes("a.sql", b"-- revision: a\n\xff\n").unwrap_err();
        assert_eq!(err.0[0].kind, ProblemKind::NotUtf8);
        assert_eq!(err.0[0].location.line, 2);
    }

    #[test]
    fn alembic_style_lists() {
        let m = parse("a.sql", "-- revision: m\n-- down_revision: ('a', 'b')\n-- migrate:up\n").unwrap();
        assert_eq!(m.down_revisions, ["a", "b"]);
    }

    #[test]
    fn a_client_stop_ends_the_up_section_and_is_not_sql() {
        let text = "-- revision: a1\n-- down_revision:\n-- migrate:up\nCREATE TABLE t (x int);\n\n-- stop here\n.quit\n\\q\n-- migrate:down\nDROP TABLE t;\n";
        let m = parse("a.sql", text).unwrap();
        assert_eq!(m.up, "CREATE TABLE t (x int);\n\n-- stop here\n");
        assert!(matches!(m.down, Down::Sql { ref sql, .. } if sql == "DROP TABLE t;\n"));
        // Either line alone is a stop too.
        let only_q = text.replace(".quit\n", "");
        assert_eq!(parse("a.sql", &only_q).unwrap().up, m.up);
    }

    #[test]
    fn sql_after_a_client_stop_is_refused_at_its_line() {
        let text = "-- revision: a1\n-- down_revision:\n-- migrate:up\n.quit\n\\q\nCREATE TABLE t (x int);\n-- migrate:down\nDROP TABLE t;\n";
        let problems = parse("a.sql", text).unwrap_err();
        let p = &problems.0[0];
        assert_eq!(p.kind, ProblemKind::ClientStopNotLast);
        assert_eq!(p.location.line, 4);
        assert!(p.kind.help().contains("above the `.quit`"), "{}", p.kind.help());
    }
}
