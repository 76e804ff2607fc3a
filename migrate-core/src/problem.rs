//! Problems found in migration files and in the revision graph: what, where, and how to fix it.

use std::fmt;

/// A position in a migration file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file, as shown to people.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl Location {
    /// A location at `path:line:column`.
    pub fn new(path: impl Into<String>, line: u32, column: u32) -> Self {
        Self { path: path.into(), line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

/// What is wrong. Every variant's message says what happened; [`ProblemKind::help`] says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The migrations directory does not exist or cannot be read.
    MissingDirectory {
        /// The reason given by the operating system.
        reason: String,
    },
    /// A file could not be read.
    Unreadable {
        /// The reason given by the operating system.
        reason: String,
    },
    /// The file is not valid UTF-8.
    NotUtf8,
    /// A `-- key: value` header line uses a key this format does not know.
    UnknownHeaderKey {
        /// The key as written.
        key: String,
        /// The closest known key, if any is close.
        suggestion: Option<&'static str>,
    },
    /// The same header key appears twice.
    DuplicateHeaderKey {
        /// The key.
        key: String,
        /// The line of its first occurrence.
        first_line: u32,
    },
    /// No `-- revision:` header.
    MissingRevision {
        /// An id suggested by the file name, if it starts with one.
        from_file_name: Option<String>,
    },
    /// No `-- down_revision:` header.
    MissingDownRevision,
    /// A revision id with characters outside `[A-Za-z0-9_]`.
    InvalidId {
        /// The header key it appeared under.
        key: &'static str,
        /// The id as written.
        value: String,
    },
    /// The same id twice in one list (`down_revision: a, a`).
    RepeatedId {
        /// The header key.
        key: &'static str,
        /// The id.
        value: String,
    },
    /// A revision id longer than the history tables hold.
    IdTooLong {
        /// Its length in bytes.
        length: usize,
        /// The most the tables hold.
        max: usize,
    },
    /// A branch label with characters outside `[A-Za-z0-9_.-]`.
    InvalidLabel {
        /// The label as written.
        value: String,
    },
    /// `-- transaction:` with something other than `true` or `false`.
    InvalidTransaction {
        /// The value as written.
        value: String,
    },
    /// A `-- migrate:` marker this format does not know.
    UnknownSection {
        /// The marker as written.
        marker: String,
    },
    /// `-- migrate:up` or `-- migrate:down` appears twice.
    DuplicateSection {
        /// `up` or `down`.
        section: &'static str,
        /// The line of its first occurrence.
        first_line: u32,
    },
    /// SQL before the first section marker.
    SqlOutsideSection,
    /// `.quit` or `\q` (the lines that stop sqlite3, psql and mysql when the whole file is fed
    /// to them) with SQL after it in the up section.
    ClientStopNotLast,
    /// No `-- migrate:up` section.
    MissingUp,
    /// `-- migrate:down irreversible:` without a reason.
    MissingIrreversibleReason,
    /// A warning: the upgrade section is empty while the downgrade has SQL (an upgrade that was
    /// forgotten, or written under the wrong marker).
    EmptyUpgrade,
    /// A header value (or an irreversible reason) holds a control character: a carriage return,
    /// an escape, a bidirectional override… Such text would end a `--` comment early in an
    /// offline script or drive the terminal it is printed on.
    ControlCharacter {
        /// The header key (`message`, `created`…), or `irreversible` for the reason.
        key: String,
        /// The character.
        character: char,
    },
    /// Two files declare the same revision id.
    DuplicateRevision {
        /// The id.
        revision: String,
        /// Where it was declared first.
        first: Location,
    },
    /// A `down_revision` names no known revision.
    UnknownDownRevision {
        /// The revision whose file this is.
        revision: String,
        /// The missing parent.
        parent: String,
        /// A known revision with a similar id, if any.
        suggestion: Option<String>,
    },
    /// A `depends_on` names no known revision.
    UnknownDependency {
        /// The revision whose file this is.
        revision: String,
        /// The missing dependency.
        dependency: String,
        /// A known revision with a similar id, if any.
        suggestion: Option<String>,
    },
    /// A revision lists itself as its parent or dependency.
    SelfReference {
        /// The revision.
        revision: String,
    },
    /// Revisions that reach themselves through `down_revision`/`depends_on`.
    Cycle {
        /// The revisions on the cycle, in order.
        revisions: Vec<String>,
    },
    /// An upgrade without any downgrade section.
    MissingDowngrade {
        /// The revision.
        revision: String,
    },
    /// A revision that is not a merge, with no SQL in either section (a file not filled in yet).
    EmptyRevision {
        /// The revision.
        revision: String,
    },
    /// A downgrade section with no SQL in it.
    EmptyDowngrade {
        /// The revision.
        revision: String,
    },
    /// The same branch label is declared twice.
    DuplicateLabel {
        /// The label.
        label: String,
        /// Where it was declared first.
        first: Location,
    },
    /// A branch label that is also a revision id, so `<label>` targets would be ambiguous.
    LabelIsRevision {
        /// The label.
        label: String,
    },
    /// A single head is required but there are several.
    MultipleHeads {
        /// Each head and where it is declared.
        heads: Vec<(String, Location)>,
    },
    /// A branch label declared to the macro is not on any revision.
    UndeclaredLabel {
        /// The label.
        label: String,
    },
    /// A declared branch has more than one head.
    BranchHeads {
        /// The label.
        label: String,
        /// Its heads.
        heads: Vec<String>,
    },
    /// A head that belongs to no declared branch.
    StrayHead {
        /// The head.
        revision: String,
        /// The declared labels.
        labels: Vec<String>,
    },
    /// Two squash revisions replace the same revision.
    ReplacedTwice {
        /// The revision replaced twice.
        revision: String,
        /// The other squash's `replaces` line.
        first: Location,
    },
    /// Some of a squash's replaced files are gone while others are still here.
    PartlyPruned {
        /// The squash revision.
        squash: String,
        /// Replaced revisions whose files are gone.
        missing: Vec<String>,
        /// Replaced revisions whose files are still here.
        present: Vec<String>,
    },
    /// A replaced revision whose file is still here does not follow the one before it in
    /// `replaces` (or, for the first, does not have the squash's parents).
    NotAChain {
        /// The squash revision.
        squash: String,
        /// The replaced revision that breaks the chain.
        revision: String,
        /// The parents it should have.
        expected: Vec<String>,
    },
    /// A squash replaces another squash whose own replaced files are still here.
    NestedSquash {
        /// The outer squash.
        squash: String,
        /// The squash it replaces.
        inner: String,
    },
}

impl ProblemKind {
    /// What to do about it.
    pub fn help(&self) -> String {
        use ProblemKind::*;
        match self {
            MissingDirectory { .. } => "create it with `cargo migrate init`, or point at the right one: `migrate!(\"path/to/migrations\")`".into(),
            Unreadable { .. } => "check the file's permissions".into(),
            NotUtf8 => "save the file as UTF-8".into(),
            UnknownHeaderKey { suggestion: Some(s), .. } => format!("did you mean `{s}`? known keys: {KNOWN_KEYS}"),
            UnknownHeaderKey { suggestion: None, .. } => format!("known keys: {KNOWN_KEYS}; a comment in the header must not look like `-- key: value`"),
            DuplicateHeaderKey { .. } => "keep one of them; several values go on one line, comma-separated".into(),
            MissingRevision { from_file_name: Some(id) } => format!("add `-- revision: {id}` as the first line"),
            MissingRevision { from_file_name: None } => "add `-- revision: <id>` as the first line (`cargo migrate new` writes it for you)".into(),
            MissingDownRevision => "add `-- down_revision: <parent id>`, or an empty `-- down_revision:` for a base revision".into(),
            InvalidId { .. } => "revision ids may only use letters, digits and `_`".into(),
            InvalidLabel { .. } => "branch labels may only use letters, digits, `_`, `-` and `.`".into(),
            InvalidTransaction { .. } => "write `-- transaction: false` to run outside a transaction, or remove the line".into(),
            UnknownSection { .. } => "the sections are `-- migrate:up` and `-- migrate:down` (or `-- migrate:down irreversible: <reason>`)".into(),
            DuplicateSection { .. } => "keep one section of each kind; a file holds one revision".into(),
            SqlOutsideSection => "put SQL under `-- migrate:up` or `-- migrate:down`; header lines look like `-- key: value`".into(),
            ClientStopNotLast => "move the upgrade's SQL above the `.quit` and `\\q` lines: they end the up section, so that a client fed the whole file stops before the downgrade".into(),
            MissingUp => "add a `-- migrate:up` line followed by the upgrade SQL (it may be empty)".into(),
            MissingIrreversibleReason => "say why: `-- migrate:down irreversible: <reason>`".into(),
            ReplacedTwice { .. } => "a revision is squashed once: remove it from one of the two `replaces` lines".into(),
            PartlyPruned { squash, .. } => format!("a squash's replaced files go together: restore the missing ones from version control, or remove the rest with `cargo migrate squash --prune {squash}`"),
            NotAChain { .. } => "a squash replaces a linear range, oldest first: fix the order in `replaces`, or the replaced file's `down_revision`".into(),
            NestedSquash { inner, .. } => format!("remove the files `{inner}` replaces first (`cargo migrate squash --prune {inner}`), once no database is partway through them"),
            RepeatedId { .. } => "list each revision once".into(),
            IdTooLong { max, .. } => format!("use an id of at most {max} characters (new ids are 12)"),
            EmptyUpgrade => {
                "put the upgrade's SQL under `-- migrate:up`, or, if the revision only joins branches, leave the down section empty too".into()
            }
            ControlCharacter { .. } => {
                "remove the character (an editor that shows invisible characters helps); header values are plain one-line text".into()
            }
            DuplicateRevision { .. } => "give one of them a new id (`cargo migrate new` generates one) and re-point its children".into(),
            UnknownDownRevision { suggestion: Some(s), .. } | UnknownDependency { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            UnknownDownRevision { suggestion: None, .. } => "point it at an existing revision (`cargo migrate heads` lists the heads), or leave it empty for a base revision".into(),
            UnknownDependency { suggestion: None, .. } => "name an existing revision, or remove it from `depends_on`".into(),
            SelfReference { .. } => "a revision cannot be its own parent; point it at the revision it follows".into(),
            Cycle { .. } => "break the cycle: one of these revisions must point down to a revision outside it".into(),
            MissingDowngrade { .. } => "add `-- migrate:down` with SQL that undoes the upgrade, or `-- migrate:down irreversible: <reason>`".into(),
            EmptyRevision { .. } => "write the upgrade under `-- migrate:up` and what undoes it under `-- migrate:down`; only a merge revision (two or more down_revisions, see `cargo migrate merge`) may be empty".into(),
            EmptyDowngrade { .. } => "write SQL that undoes the upgrade, or mark it `-- migrate:down irreversible: <reason>`".into(),
            DuplicateLabel { .. } => "branch labels name one branch each; rename one of them".into(),
            LabelIsRevision { .. } => "rename the label: a branch label may not be a revision id".into(),
            MultipleHeads { .. } => "join them with `cargo migrate merge -m \"merge heads\"`, or declare the branch labels you keep on purpose: `migrate!(branches = [\"...\"])`".into(),
            UndeclaredLabel { .. } => "add `-- branch_labels: <label>` to the revision that starts the branch, or remove it from `branches = [...]`".into(),
            BranchHeads { label, .. } => format!("join them with `cargo migrate merge -m \"merge {label}\" <heads>`"),
            StrayHead { .. } => "merge it into a declared branch with `cargo migrate merge`, or label its branch and declare the label".into(),
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProblemKind::*;
        match self {
            MissingDirectory { reason } => write!(f, "migrations directory not found ({reason})"),
            Unreadable { reason } => write!(f, "cannot read the file ({reason})"),
            NotUtf8 => write!(f, "the file is not valid UTF-8"),
            UnknownHeaderKey { key, .. } => write!(f, "unknown header key `{key}`"),
            DuplicateHeaderKey { key, first_line } => {
                write!(f, "header key `{key}` appears twice (first on line {first_line})")
            }
            MissingRevision { .. } => write!(f, "missing `-- revision:` header"),
            MissingDownRevision => write!(f, "missing `-- down_revision:` header"),
            InvalidId { key, value } => write!(f, "`{value}` in `{key}` is not a valid revision id"),
            InvalidLabel { value } => write!(f, "`{value}` is not a valid branch label"),
            InvalidTransaction { value } => write!(f, "`transaction: {value}` must be `true` or `false`"),
            UnknownSection { marker } => write!(f, "unknown section marker `{marker}`"),
            DuplicateSection { section, first_line } => {
                write!(f, "second `-- migrate:{section}` section (the first is on line {first_line})")
            }
            SqlOutsideSection => write!(f, "SQL before `-- migrate:up`"),
            ClientStopNotLast => write!(f, "SQL after the client stop (`.quit`, `\\q`) in the up section"),
            MissingUp => write!(f, "no `-- migrate:up` section"),
            MissingIrreversibleReason => write!(f, "`irreversible:` without a reason"),
            RepeatedId { key, value } => write!(f, "`{value}` appears twice in `{key}`"),
            IdTooLong { length, max } => {
                write!(f, "the revision id is {length} characters long; the history table holds {max}")
            }
            EmptyUpgrade => write!(f, "the upgrade section is empty but the downgrade is not"),
            ControlCharacter { key, character } => {
                write!(f, "the `{key}` value contains the control character U+{:04X}", u32::from(*character))
            }
            DuplicateRevision { revision, first } => {
                write!(f, "duplicate revision id `{revision}` (also declared in {}:{})", first.path, first.line)
            }
            UnknownDownRevision { revision, parent, .. } => {
                write!(f, "revision `{revision}` has down_revision `{parent}`, which is not a known revision")
            }
            UnknownDependency { revision, dependency, .. } => {
                write!(f, "revision `{revision}` depends on `{dependency}`, which is not a known revision")
            }
            SelfReference { revision } => write!(f, "revision `{revision}` refers to itself"),
            Cycle { revisions } => write!(
                f,
                "cycle in the revision graph: {} -> {}",
                revisions.join(" -> "),
                revisions.first().map_or("", String::as_str)
            ),
            MissingDowngrade { revision } => write!(f, "revision `{revision}` has no `-- migrate:down` section"),
            EmptyDowngrade { revision } => write!(f, "revision `{revision}` has an empty downgrade"),
            EmptyRevision { revision } => write!(f, "revision `{revision}` has no SQL in either section"),
            DuplicateLabel { label, first } => {
                write!(f, "branch label `{label}` is declared twice (first in {}:{})", first.path, first.line)
            }
            MultipleHeads { heads } => {
                write!(f, "{} heads, but a single head is required: ", heads.len())?;
                let list: Vec<String> =
                    heads.iter().map(|(h, at)| format!("`{h}` ({}:{})", at.path, at.line)).collect();
                write!(f, "{}", list.join(", "))
            }
            LabelIsRevision { label } => write!(f, "branch label `{label}` is also a revision id"),
            ReplacedTwice { revision, first } => write!(
                f,
                "revision `{revision}` is replaced by two squashes (the other's `replaces` is at {}:{})",
                first.path, first.line
            ),
            PartlyPruned { squash, missing, present } => write!(
                f,
                "squash `{squash}` replaces {} and {}: the first {} gone, the second still here",
                missing.join(", "),
                present.join(", "),
                if missing.len() == 1 { "is" } else { "are" }
            ),
            NotAChain { squash, revision, expected } => write!(
                f,
                "`{revision}`, replaced by squash `{squash}`, should have down_revision `{}`",
                expected.join(", ")
            ),
            NestedSquash { squash, inner } => {
                write!(f, "squash `{squash}` replaces squash `{inner}`, whose own replaced files are still here")
            }
            UndeclaredLabel { label } => write!(f, "declared branch `{label}` is not the label of any revision"),
            BranchHeads { label, heads } => {
                write!(f, "branch `{label}` has {} heads: {}", heads.len(), heads.join(", "))
            }
            StrayHead { revision, labels } => {
                write!(f, "head `{revision}` is on none of the declared branches ({})", labels.join(", "))
            }
        }
    }
}

const KNOWN_KEYS: &str = "revision, down_revision, message, created, depends_on, branch_labels, transaction, replaces";

/// One problem: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// Where.
    pub location: Location,
}

impl Problem {
    /// A problem of `kind` at `location`.
    pub fn new(kind: ProblemKind, location: Location) -> Self {
        Self { kind, location }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        self.kind.help()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n  help: {}", self.location, self.kind, self.kind.help())
    }
}

impl std::error::Error for Problem {}

/// Every problem found at once, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// The problems, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Self(vec![p])
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The closest of `candidates` to `word` within a small edit distance.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).max(1);
    candidates.into_iter().map(|c| (edit_distance(word, c), c)).filter(|(d, _)| *d <= limit).min().map(|(_, c)| c)
}

/// Levenshtein distance over bytes.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
