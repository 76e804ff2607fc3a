//! The remembered no-op: what an upgrade of one migrations directory to one target expects of
//! the database (the digest of the applied state, the revisions it is at, the warnings the files
//! give), kept in the user's cache directory and trusted only while the directory's fingerprint
//! (every entry's name, size, times and inode, `migrate_core::fingerprint`) is unchanged.
//!
//! With it, an upgrade of a database that is already there reads no migration file: it lists
//! the directory, asks the database for its last digest, compares, and is done. Anything else —
//! a changed file, another target, a database elsewhere — takes the ordinary path, which writes
//! the memo again. A memo that cannot be read or written is no memo: nothing depends on it.

use std::path::{Path, PathBuf};

/// The first line of a memo file (its format's version).
const HEADER: &str = "cargo-migrate no-op memo 1";

/// What an upgrade to one target expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Memo {
    /// The directory's fingerprint when this was computed.
    pub(crate) fingerprint: String,
    /// The target as typed (empty for the default).
    pub(crate) target: String,
    /// The digest of the applied state at the target.
    pub(crate) digest: String,
    /// The revisions a database at the target is at, each with whether it is a head.
    pub(crate) current: Vec<(String, bool)>,
    /// The warnings loading the files printed.
    pub(crate) warnings: Vec<String>,
}

/// Where the memo of `dir` lives: `$XDG_CACHE_HOME/cargo-migrate/` or `~/.cache/cargo-migrate/`.
fn path(dir: &Path) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    let dir = std::path::absolute(dir).ok()?;
    let key = migrate_core::Checksum::of(&dir.to_string_lossy()).to_hex();
    Some(base.join("cargo-migrate").join(format!("noop-{}", &key[..32])))
}

/// Whether a memo of `dir` can be read or kept here: there is a cache directory, and it exists
/// or can be made. Where it cannot (no home, a read-only file system, as in many containers),
/// the fingerprint that a memo is checked against is not worth computing.
pub(crate) fn keepable(dir: &Path) -> bool {
    path(dir).and_then(|p| p.parent().map(|d| std::fs::create_dir_all(d).is_ok())).unwrap_or(false)
}

/// The memo of `dir` for `target`, when there is one and `fingerprint` still matches it.
pub(crate) fn recall(dir: &Path, target: &str, fingerprint: &str) -> Option<Memo> {
    let text = std::fs::read_to_string(path(dir)?).ok()?;
    let memo = parse(&text)?;
    (memo.fingerprint == fingerprint && memo.target == target).then_some(memo)
}

/// Keeps `memo` for `dir`; failures are ignored (there is simply no memo next time).
pub(crate) fn remember(dir: &Path, memo: &Memo) {
    let Some(path) = path(dir) else { return };
    if memo.warnings.iter().chain(std::iter::once(&memo.target)).any(|w| w.contains('\n')) {
        return;
    }
    // Its directory was made when the run found the memo keepable (`keepable`).
    // Written aside and renamed, so a reader never sees half a memo.
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, render(memo)).is_ok() && std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

fn render(memo: &Memo) -> String {
    let mut s = format!("{HEADER}\nfingerprint {}\ntarget {}\ndigest {}\n", memo.fingerprint, memo.target, memo.digest);
    for (id, head) in &memo.current {
        s.push_str(&format!("current {id} {}\n", u8::from(*head)));
    }
    for w in &memo.warnings {
        s.push_str(&format!("warning {w}\n"));
    }
    s
}

fn parse(text: &str) -> Option<Memo> {
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ').map(str::to_owned);
    let (fingerprint, target, digest) = (field("fingerprint")?, field("target")?, field("digest")?);
    let mut memo = Memo { fingerprint, target, digest, current: Vec::new(), warnings: Vec::new() };
    for line in lines {
        if let Some(rest) = line.strip_prefix("current ") {
            let (id, head) = rest.split_once(' ')?;
            memo.current.push((id.to_owned(), head == "1"));
        } else if let Some(w) = line.strip_prefix("warning ") {
            memo.warnings.push(w.to_owned());
        } else {
            return None;
        }
    }
    Some(memo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_reads_back_as_written() {
        let memo = Memo {
            fingerprint: "ab".into(),
            target: String::new(),
            digest: "1000:cd".into(),
            current: vec![("r1".into(), true), ("r2".into(), false)],
            warnings: vec!["migrations/x.txt is not a migration".into()],
        };
        assert_eq!(parse(&render(&memo)), Some(memo));
        assert_eq!(parse("something else\n"), None);
        assert_eq!(parse(&format!("{HEADER}\nfingerprint a\ntarget \ndigest d\nnonsense\n")), None);
    }
}
