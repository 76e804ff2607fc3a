//! The properties the fuzz targets (`fuzz/`) and the property tests check on arbitrary input:
//! parsing, statement splitting and graph → plan → offline script never panic and keep their
//! promises. One implementation for both, so what CI runs is what a fuzzing session runs.

use crate::sql::{Dialect, script, split};
use crate::text::is_unsafe_char;
use crate::{Applied, Options, RevisionGraph, Target, normalize, parse, parse_bytes};

/// Parses `data` as one migration file. A parsed migration holds no unsafe character in its
/// header values, and its checksum ignores CRLF line ends; every problem points into the file.
pub fn parse_one(data: &[u8]) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    match parse_bytes("m/fuzz.sql", data) {
        Ok(m) => {
            assert!(crate::is_valid_id(&m.revision), "{:?}", m.revision);
            for value in [&m.message, m.created.as_deref().unwrap_or("")] {
                assert!(!value.chars().any(is_unsafe_char), "{value:?}");
            }
            if let crate::Down::Irreversible { reason } = &m.down {
                assert!(!reason.chars().any(is_unsafe_char), "{reason:?}");
            }
            if let Ok(text) = std::str::from_utf8(data) {
                let again = parse("m/fuzz.sql", &normalize(text).replace('\n', "\r\n"));
                assert_eq!(again.map(|a| a.checksum).ok(), Some(m.checksum));
            }
        }
        Err(problems) => {
            assert!(!problems.0.is_empty());
            for p in problems.0 {
                assert!(p.location.line >= 1 && p.location.line <= lines, "{p}");
            }
        }
    }
}

/// Splits `data` (as text) in every dialect. Each statement is a non-empty, trimmed piece of the
/// input, in order, on a line of the input.
pub fn split_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.matches('\n').count() as u32 + 1;
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        let mut last_line = 0;
        for s in split(&text, dialect) {
            assert!(!s.sql.is_empty() && s.sql.trim() == s.sql, "{dialect}: {:?}", s.sql);
            assert!(text.contains(s.sql.as_str()), "{dialect}: {:?} is not in the input", s.sql);
            assert!(s.line >= last_line && s.line >= 1 && s.line <= lines, "{dialect}: line {}", s.line);
            last_line = s.line;
        }
    }
}

/// Reads `data` as several migration files (separated by NUL bytes), builds the graph when they
/// form one, plans upgrades and downgrades to many targets and writes their offline scripts in
/// every dialect. Each step of a plan appears in its script.
pub fn graph_plan_script(data: &[u8]) {
    let migrations: Vec<_> = data
        .split(|&b| b == 0)
        .enumerate()
        .filter_map(|(i, file)| parse_bytes(&format!("m/{i}.sql"), file).ok())
        .collect();
    let Ok(graph) = RevisionGraph::new(migrations) else { return };
    let everything = Applied::new((0..graph.len()).map(|i| graph.migration(i).revision.clone()));
    let mut targets = vec![Target::Head, Target::Heads, Target::Base, Target::Relative(1), Target::Relative(-1)];
    targets.extend((0..graph.len().min(4)).map(|i| Target::Revision(graph.migration(i).revision.clone())));
    for target in &targets {
        for (applied, up) in [(&Applied::default(), true), (&everything, true), (&everything, false)] {
            let plan = if up { graph.plan_upgrade(applied, target) } else { graph.plan_downgrade(applied, target) };
            let Ok(plan) = plan else { continue };
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
                let sql = script(&graph, &plan, dialect, &Options::default());
                let comments: Vec<&str> = sql.lines().filter(|l| l.starts_with("-- Running")).collect();
                assert_eq!(comments.len(), plan.steps.len(), "{dialect}");
                for (step, comment) in plan.steps.iter().zip(&comments) {
                    let revision = &graph.migration(step.index).revision;
                    assert!(comment.contains(&format!(" {revision}")), "{dialect}: {comment} is not step {revision}");
                    assert!(!comment.chars().any(is_unsafe_char), "{comment:?}");
                }
            }
        }
    }
}
