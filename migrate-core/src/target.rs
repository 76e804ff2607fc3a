//! Targets of upgrade, downgrade, stamp and history: `head`, `base`, ids and prefixes, relative
//! steps, branch labels, and `a:b` ranges.

use std::fmt;
use std::str::FromStr;

use crate::migration::{is_valid_id, is_valid_label};

/// Where to go. Parsed from the forms Alembic users type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `head`: the single head (an error when there are several).
    Head,
    /// `heads`: every head.
    Heads,
    /// `base`: before the first revision.
    Base,
    /// A revision id, or a unique prefix of 4 or more characters.
    Revision(String),
    /// `+N` / `-N`: steps from the current revision.
    Relative(i64),
    /// `<rev>+N` / `<rev>-N`: steps from a revision.
    RevisionRelative(String, i64),
    /// `<label>@head`: the head of a branch.
    LabelHead(String),
    /// `<label>@base`: the revision that starts a branch.
    LabelBase(String),
    /// `<label>@+N` / `<label>@-N`: steps from the current revision on a branch.
    LabelRelative(String, i64),
}

/// A target that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a target; use `head`, `heads`, `base`, a revision id or prefix, `+N`, `-N`, `<rev>+N`, `<label>@head` or `<label>@-N`"
)]
pub struct TargetParseError(pub String);

fn steps(s: &str) -> Option<i64> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().map(|n| sign * n)
}

impl FromStr for Target {
    type Err = TargetParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TargetParseError(s.to_owned());
        let s = s.trim();
        match s {
            "head" => return Ok(Self::Head),
            "heads" => return Ok(Self::Heads),
            "base" => return Ok(Self::Base),
            _ => {}
        }
        if let Some(n) = steps(s) {
            return Ok(Self::Relative(n));
        }
        if let Some((label, rest)) = s.split_once('@') {
            if !is_valid_label(label) {
                return Err(bad());
            }
            let label = label.to_owned();
            return match rest {
                "head" => Ok(Self::LabelHead(label)),
                "base" => Ok(Self::LabelBase(label)),
                _ => steps(rest).map(|n| Self::LabelRelative(label, n)).ok_or_else(bad),
            };
        }
        if let Some(at) = s.find(['+', '-']) {
            let (rev, rest) = s.split_at(at);
            return match (is_valid_id(rev), steps(rest)) {
                (true, Some(n)) => Ok(Self::RevisionRelative(rev.to_owned(), n)),
                _ => Err(bad()),
            };
        }
        if is_valid_id(s) { Ok(Self::Revision(s.to_owned())) } else { Err(bad()) }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Head => f.write_str("head"),
            Self::Heads => f.write_str("heads"),
            Self::Base => f.write_str("base"),
            Self::Revision(r) => f.write_str(r),
            Self::Relative(n) => write!(f, "{n:+}"),
            Self::RevisionRelative(r, n) => write!(f, "{r}{n:+}"),
            Self::LabelHead(l) => write!(f, "{l}@head"),
            Self::LabelBase(l) => write!(f, "{l}@base"),
            Self::LabelRelative(l, n) => write!(f, "{l}@{n:+}"),
        }
    }
}

/// A range `a:b` (either side may be empty), as taken by `history -r` and offline SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The lower end (included, as in Alembic's `history -r`), or open.
    pub from: Option<Target>,
    /// The upper end (included), or open.
    pub to: Option<Target>,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |t: &Option<Target>| t.as_ref().map(ToString::to_string).unwrap_or_default();
        write!(f, "{}:{}", side(&self.from), side(&self.to))
    }
}

impl FromStr for Range {
    type Err = TargetParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((from, to)) = s.split_once(':') else {
            return Err(TargetParseError(s.to_owned()));
        };
        let side = |x: &str| if x.trim().is_empty() { Ok(None) } else { x.parse().map(Some) };
        Ok(Self { from: side(from)?, to: side(to)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        let cases = [
            ("head", Target::Head),
            ("heads", Target::Heads),
            ("base", Target::Base),
            ("ae10", Target::Revision("ae10".into())),
            ("+2", Target::Relative(2)),
            ("-1", Target::Relative(-1)),
            ("ae10+2", Target::RevisionRelative("ae10".into(), 2)),
            ("ae10-3", Target::RevisionRelative("ae10".into(), -3)),
            ("billing@head", Target::LabelHead("billing".into())),
            ("billing@base", Target::LabelBase("billing".into())),
            ("billing@-1", Target::LabelRelative("billing".into(), -1)),
            ("billing@+2", Target::LabelRelative("billing".into(), 2)),
        ];
        for (text, want) in cases {
            let got: Target = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
    }

    #[test]
    fn garbage_is_refused() {
        for bad in ["", "a b", "+", "-x", "a+", "@head", "x@y", "a+-1", "é"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges() {
        let r: Range = "ae10:head".parse().unwrap();
        assert_eq!(r, Range { from: Some(Target::Revision("ae10".into())), to: Some(Target::Head) });
        let r: Range = ":head".parse().unwrap();
        assert_eq!(r.from, None);
        assert!("head".parse::<Range>().is_err());
    }
}
