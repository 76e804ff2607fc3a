//! Splits a migration's SQL into statements the way each database's own client does: strings,
//! quoted identifiers, comments, PostgreSQL dollar quotes, `BEGIN … END` bodies and MySQL's
//! `DELIMITER` lines are understood, so a `;` inside any of them never ends a statement.

use super::Dialect;

/// One statement of a SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement, without its terminating delimiter, without leading comments and without
    /// surrounding whitespace.
    pub sql: String,
    /// The 1-based line of the statement's first token in the text that was split.
    pub line: u32,
}

/// Splits `sql` into statements.
///
/// Comments and whitespace between statements are dropped; pieces that hold only comments are not
/// statements. On MySQL a `DELIMITER <d>` line changes the delimiter as the `mysql` client does.
///
/// ```
/// use migrate_core::sql::{split, Dialect};
/// let parts = split("CREATE TABLE t (x text DEFAULT ';');\n-- done; really\nINSERT INTO t VALUES ('a;b');", Dialect::Sqlite);
/// assert_eq!(parts.len(), 2);
/// assert_eq!(parts[1].line, 3);
/// ```
pub fn split(sql: &str, dialect: Dialect) -> Vec<Statement> {
    Splitter::new(sql, dialect).run()
}

struct Splitter<'a> {
    src: &'a str,
    b: &'a [u8],
    dialect: Dialect,
    pos: usize,
    line: u32,
    out: Vec<Statement>,
    delimiter: String,
    /// Start offset and line of the current statement's first token.
    start: Option<(usize, u32)>,
    /// Nesting of `BEGIN`/`CASE` … `END` in the current statement.
    depth: u32,
    /// The current statement's first word, upper-cased.
    first_word: Option<String>,
    /// The last significant byte before the current word (for telling `BEGIN` blocks from names).
    prev_byte: u8,
}

/// Words after `BEGIN` that make it a transaction start rather than a block.
const TRANSACTION_WORDS: [&str; 9] =
    ["WORK", "TRANSACTION", "TRAN", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "ISOLATION", "READ", "DEFERRABLE"];

/// Words after `END` that close an `IF`/loop, not a `BEGIN` or `CASE`.
const END_OF_CONTROL: [&str; 5] = ["IF", "LOOP", "WHILE", "REPEAT", "FOR"];

impl<'a> Splitter<'a> {
    fn new(src: &'a str, dialect: Dialect) -> Self {
        Self {
            src,
            b: src.as_bytes(),
            dialect,
            pos: 0,
            line: 1,
            out: Vec::new(),
            delimiter: ";".to_owned(),
            start: None,
            depth: 0,
            first_word: None,
            prev_byte: b';',
        }
    }

    fn peek(&self, k: usize) -> u8 {
        self.b.get(self.pos + k).copied().unwrap_or(0)
    }

    /// Advances by `n` bytes, counting newlines.
    fn bump(&mut self, n: usize) {
        let end = (self.pos + n).min(self.b.len());
        self.line += self.b[self.pos..end].iter().filter(|&&c| c == b'\n').count() as u32;
        self.pos = end;
    }

    fn mark_token(&mut self) {
        if self.start.is_none() {
            self.start = Some((self.pos, self.line));
        }
    }

    fn finish(&mut self, end: usize) {
        if let Some((start, line)) = self.start.take() {
            let sql = self.src[start..end].trim_end();
            if !sql.is_empty() {
                self.out.push(Statement { sql: sql.to_owned(), line });
            }
        }
        self.depth = 0;
        self.first_word = None;
        self.prev_byte = b';';
    }

    fn run(mut self) -> Vec<Statement> {
        while self.pos < self.b.len() {
            let c = self.peek(0);
            if self.start.is_none() && self.dialect == Dialect::MySql && self.delimiter_command() {
                continue;
            }
            if c.is_ascii_whitespace() {
                self.bump(1);
            } else if self.at_line_comment() {
                self.skip_line();
            } else if c == b'/' && self.peek(1) == b'*' {
                if self.dialect == Dialect::MySql && matches!(self.peek(2), b'!' | b'+') {
                    self.mark_token();
                }
                self.skip_block_comment();
            } else if self.at_delimiter() {
                let end = self.pos;
                self.bump(self.delimiter.len());
                self.finish(end);
            } else {
                self.mark_token();
                match c {
                    b'\'' => self.skip_quoted(b'\'', self.dialect == Dialect::MySql),
                    b'"' => self.skip_quoted(b'"', self.dialect == Dialect::MySql),
                    b'`' if self.dialect != Dialect::Postgres => self.skip_quoted(b'`', false),
                    b'[' if self.dialect == Dialect::Sqlite => self.skip_until(b']'),
                    b'$' if self.dialect == Dialect::Postgres && self.dollar_quote() => {}
                    c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => self.word(),
                    c => {
                        self.prev_byte = c;
                        self.bump(1);
                    }
                }
            }
        }
        self.finish(self.b.len());
        self.out
    }

    fn at_delimiter(&self) -> bool {
        if self.delimiter == ";" {
            self.peek(0) == b';' && self.depth == 0
        } else {
            self.b[self.pos..].starts_with(self.delimiter.as_bytes())
        }
    }

    fn at_line_comment(&self) -> bool {
        match (self.peek(0), self.peek(1)) {
            (b'-', b'-') if self.dialect == Dialect::MySql => {
                let next = self.peek(2);
                next == 0 || next.is_ascii_whitespace() || next.is_ascii_control()
            }
            (b'-', b'-') => true,
            (b'#', _) => self.dialect == Dialect::MySql,
            _ => false,
        }
    }

    fn skip_line(&mut self) {
        while self.pos < self.b.len() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        let nested = self.dialect == Dialect::Postgres;
        let mut level = 0u32;
        while self.pos < self.b.len() {
            if self.peek(0) == b'/' && self.peek(1) == b'*' && (nested || level == 0) {
                level += 1;
                self.bump(2);
            } else if self.peek(0) == b'*' && self.peek(1) == b'/' {
                self.bump(2);
                level -= 1;
                if level == 0 {
                    return;
                }
            } else {
                self.bump(1);
            }
        }
    }

    /// Skips a quoted string or identifier; a doubled quote is an escaped quote.
    fn skip_quoted(&mut self, quote: u8, backslash: bool) {
        self.prev_byte = quote;
        self.bump(1);
        while self.pos < self.b.len() {
            let c = self.peek(0);
            if backslash && c == b'\\' {
                self.bump(2);
            } else if c == quote {
                if self.peek(1) == quote {
                    self.bump(2);
                } else {
                    self.bump(1);
                    return;
                }
            } else {
                self.bump(1);
            }
        }
    }

    fn skip_until(&mut self, close: u8) {
        self.prev_byte = close;
        while self.pos < self.b.len() {
            let c = self.peek(0);
            self.bump(1);
            if c == close {
                return;
            }
        }
    }

    /// At a `$`: skips a dollar-quoted string (`$$ … $$`, `$tag$ … $tag$`) if one starts here.
    fn dollar_quote(&mut self) -> bool {
        let rest = &self.b[self.pos + 1..];
        let tag_len = rest.iter().take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80).count();
        if rest.get(tag_len) != Some(&b'$') || rest.first().is_some_and(u8::is_ascii_digit) {
            return false;
        }
        let tag = &self.b[self.pos..self.pos + tag_len + 2];
        let body_start = self.pos + tag.len();
        let close = self.b[body_start..].windows(tag.len()).position(|w| w == tag);
        let end = close.map_or(self.b.len(), |at| body_start + at + tag.len());
        self.bump(end - self.pos);
        self.prev_byte = b'$';
        true
    }

    fn read_word(&self, from: usize) -> &'a str {
        let custom = self.delimiter != ";";
        let mut len = 0;
        while let Some(&c) = self.b.get(from + len) {
            // The mysql client ends a statement wherever its delimiter appears, even inside what
            // would otherwise be one word (`END$$`).
            if custom && self.b[from + len..].starts_with(self.delimiter.as_bytes()) {
                break;
            }
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80) {
                break;
            }
            len += 1;
        }
        // Never cut a multi-byte character (a delimiter is ASCII in practice, but need not be).
        while !self.src.is_char_boundary(from + len) {
            len += 1;
        }
        &self.src[from..from + len]
    }

    /// The next word after `from`, skipping whitespace and comments, upper-cased; `;` and the end
    /// of the text are returned as `";"`.
    fn next_word(&self, from: usize) -> String {
        self.next_word_at(from).0
    }

    /// [`next_word`](Self::next_word) and the offset just after it.
    fn next_word_at(&self, mut from: usize) -> (String, usize) {
        loop {
            while from < self.b.len() && self.b[from].is_ascii_whitespace() {
                from += 1;
            }
            let rest = &self.b[from..];
            if rest.starts_with(b"--") || (self.dialect == Dialect::MySql && rest.starts_with(b"#")) {
                from += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            } else if rest.starts_with(b"/*") {
                from += rest.windows(2).position(|w| w == b"*/").map_or(rest.len(), |p| p + 2);
            } else if rest.is_empty() || rest[0] == b';' {
                return (";".to_owned(), from);
            } else {
                let word = self.read_word(from);
                return (word.to_ascii_uppercase(), from + word.len().max(1));
            }
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        let word = self.read_word(start);
        // E'…' on PostgreSQL: a string with backslash escapes.
        if self.dialect == Dialect::Postgres && word.eq_ignore_ascii_case("e") && self.peek(1) == b'\'' {
            self.bump(1);
            self.skip_quoted(b'\'', true);
            return;
        }
        let upper = word.to_ascii_uppercase();
        self.bump(word.len());
        let first = self.first_word.is_none();
        if first {
            self.first_word = Some(upper.clone());
        }
        match upper.as_str() {
            "BEGIN" => {
                let creating =
                    self.first_word.as_deref() == Some("CREATE") && !matches!(self.prev_byte, b'(' | b',' | b'.');
                let (next, after) = self.next_word_at(self.pos);
                let block = match next.as_str() {
                    ";" => false,
                    "NOT" => self.next_word(after) == "ATOMIC",
                    w => !TRANSACTION_WORDS.contains(&w),
                };
                if block && (first || creating || self.depth > 0) {
                    self.depth += 1;
                }
            }
            "CASE" => self.depth += 1,
            "END" => {
                let next = self.next_word(self.pos);
                if !END_OF_CONTROL.contains(&next.as_str()) {
                    self.depth = self.depth.saturating_sub(1);
                }
            }
            _ => {}
        }
        self.prev_byte = b'a';
    }

    /// At the start of a statement on MySQL: handles a `DELIMITER <d>` line.
    fn delimiter_command(&mut self) -> bool {
        let word = self.read_word(self.pos);
        if !word.eq_ignore_ascii_case("delimiter") {
            return false;
        }
        let after = self.pos + word.len();
        let line_end = self.b[after..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |p| after + p);
        let arg = self.src[after..line_end].trim();
        if arg.is_empty() || !self.b.get(after).is_some_and(u8::is_ascii_whitespace) {
            return false;
        }
        self.delimiter = arg.split_whitespace().next().unwrap_or(";").to_owned();
        self.bump(line_end - self.pos);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(text: &str, dialect: Dialect) -> Vec<String> {
        split(text, dialect).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn plain_statements_and_lines() {
        let parts =
            split("\n\nCREATE TABLE a (x int);\n\n  INSERT INTO a\n  VALUES (1);\n-- trailing\n", Dialect::Postgres);
        assert_eq!(
            parts,
            [
                Statement { sql: "CREATE TABLE a (x int)".into(), line: 3 },
                Statement { sql: "INSERT INTO a\n  VALUES (1)".into(), line: 5 }
            ]
        );
    }

    #[test]
    fn strings_identifiers_and_comments_hide_semicolons() {
        let text = "INSERT INTO \"a;b\" VALUES ('x;''y', 'z'); /* c; */ -- d;\nSELECT 1 /* ; */ + 2";
        assert_eq!(
            sqls(text, Dialect::Postgres),
            ["INSERT INTO \"a;b\" VALUES ('x;''y', 'z')", "SELECT 1 /* ; */ + 2"]
        );
        assert_eq!(
            sqls("SELECT `a;b` FROM t; SELECT 'it\\';s'", Dialect::MySql),
            ["SELECT `a;b` FROM t", "SELECT 'it\\';s'"]
        );
        assert_eq!(sqls("SELECT [a;b] FROM t; SELECT 2", Dialect::Sqlite), ["SELECT [a;b] FROM t", "SELECT 2"]);
        assert_eq!(sqls("SELECT E'a\\';b'; SELECT 2", Dialect::Postgres), ["SELECT E'a\\';b'", "SELECT 2"]);
        assert_eq!(sqls("SELECT 'a\\'; SELECT 2", Dialect::Postgres), ["SELECT 'a\\'", "SELECT 2"]);
    }

    #[test]
    fn nested_comments_on_postgres() {
        assert_eq!(sqls("/* a /* b; */ c; */ SELECT 1; SELECT 2", Dialect::Postgres), ["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn mysql_comment_rules() {
        assert_eq!(sqls("SELECT 1 # x; y\n; SELECT 2", Dialect::MySql), ["SELECT 1 # x; y", "SELECT 2"]);
        assert_eq!(sqls("SELECT 5--1; SELECT 2", Dialect::MySql), ["SELECT 5--1", "SELECT 2"]);
        assert_eq!(sqls("/*!40101 SET x=1 */; SELECT 2", Dialect::MySql), ["/*!40101 SET x=1 */", "SELECT 2"]);
    }

    #[test]
    fn dollar_quotes() {
        let text = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n\
                    CREATE FUNCTION g() RETURNS text AS $body$ SELECT '$$;' $body$ LANGUAGE sql;\nSELECT $1, a$b$ FROM t";
        let parts = split(text, Dialect::Postgres);
        assert_eq!(parts.len(), 3, "{parts:#?}");
        assert!(parts[0].sql.ends_with("LANGUAGE plpgsql"));
        assert!(parts[1].sql.contains("$body$ SELECT '$$;' $body$"));
        assert_eq!(parts[2].line, 3);
    }

    #[test]
    fn begin_end_blocks() {
        let trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  UPDATE c SET n = CASE WHEN n > 1 THEN 0 ELSE n END;\nEND;\nSELECT 1;";
        assert_eq!(split(trigger, Dialect::Sqlite).len(), 2);
        let atomic = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3";
        assert_eq!(split(atomic, Dialect::Postgres).len(), 2);
        let proc = "CREATE PROCEDURE p() BEGIN\n  DECLARE i INT DEFAULT 0;\n  WHILE i < 3 DO\n    IF i = 1 THEN SET i = i + 1; END IF;\n    SET i = i + 1;\n  END WHILE;\nEND;\nCALL p();";
        assert_eq!(sqls(proc, Dialect::MySql).len(), 2);
        assert_eq!(sqls("BEGIN; SELECT 1; COMMIT;", Dialect::Postgres), ["BEGIN", "SELECT 1", "COMMIT"]);
        assert_eq!(sqls("BEGIN WORK; SELECT 1; END;", Dialect::MySql), ["BEGIN WORK", "SELECT 1", "END"]);
        assert_eq!(sqls("BEGIN NOT ATOMIC SELECT 1; END; SELECT 2", Dialect::MySql).len(), 2);
        assert_eq!(sqls("CREATE TABLE t (begin INT, x INT); SELECT 2", Dialect::MySql).len(), 2);
        assert_eq!(sqls("SELECT CASE WHEN 1 THEN 2 END; SELECT 2", Dialect::MySql).len(), 2);
    }

    #[test]
    fn a_delimiter_ends_a_word_as_the_mysql_client_reads_it() {
        let text = "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nSELECT 2;\n";
        let parts = split(text, Dialect::MySql);
        let sqls: Vec<&str> = parts.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(sqls, ["CREATE PROCEDURE p() BEGIN SELECT 1; END", "SELECT 2"]);
    }

    #[test]
    fn mysql_delimiter_lines() {
        let text = "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND $$\nDELIMITER ;\nCALL p();\n";
        let parts = split(text, Dialect::MySql);
        assert_eq!(parts.len(), 2, "{parts:#?}");
        assert_eq!(parts[0].sql, "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND");
        assert_eq!(parts[0].line, 2);
        assert_eq!(parts[1], Statement { sql: "CALL p()".into(), line: 7 });
    }

    #[test]
    fn comment_only_pieces_are_not_statements() {
        assert!(split("-- nothing\n/* at all */\n;\n", Dialect::Sqlite).is_empty());
        assert!(split("", Dialect::MySql).is_empty());
    }

    #[test]
    fn unterminated_things_do_not_panic() {
        for text in ["'abc", "$$ abc", "/* abc", "\"abc", "$tag$ x $ta", "E'", "[x", "DELIMITER", "BEGIN NOT"] {
            for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
                let _ = split(text, d);
            }
        }
    }
}
