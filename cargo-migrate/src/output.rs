//! Where everything the tool prints goes: one writer for results (stdout), one for messages
//! (stderr), colour decided once, verbosity applied in one place, and secrets scrubbed.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{IsTerminal, Write};

use migrate_core::text::{escape_unsafe, is_unsafe_char};

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream, given whether it is a terminal.
    pub(crate) fn decide(self, is_terminal: bool) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
                if set("NO_COLOR") {
                    return false;
                }
                if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                    return true;
                }
                is_terminal && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }
}

/// The styles used in human output.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Paint {
    /// A revision id.
    Rev,
    /// A tag like `(head)`.
    Tag,
    /// Something that went well.
    Good,
    /// Something to look at.
    Warn,
    /// Something that went wrong.
    Bad,
    /// Headings.
    Bold,
}

impl Paint {
    fn style(self) -> Style {
        match self {
            Self::Rev => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            Self::Tag => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
            Self::Good => Style::new().fg_color(Some(AnsiColor::Green.into())),
            Self::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
            Self::Bad => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            Self::Bold => Style::new().bold(),
        }
    }
}

/// The tool's output streams.
pub(crate) struct Output {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    /// Whether stdout is coloured.
    pub(crate) color: bool,
    /// Whether stderr is coloured.
    pub(crate) err_color: bool,
    /// Whether stderr is an interactive terminal (progress bars are drawn only there).
    pub(crate) err_is_terminal: bool,
    /// Whether stdout is an interactive terminal.
    out_is_terminal: bool,
    /// `-q`: only results and errors.
    pub(crate) quiet: bool,
    /// `-v` count.
    pub(crate) verbose: u8,
    secrets: Vec<String>,
}

impl Output {
    /// The process's own stdout and stderr.
    pub(crate) fn stdio(color: ColorChoice) -> Self {
        let out_tty = std::io::stdout().is_terminal();
        let err_tty = std::io::stderr().is_terminal();
        Self {
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            color: color.decide(out_tty),
            err_color: color.decide(err_tty),
            err_is_terminal: err_tty,
            out_is_terminal: out_tty,
            quiet: false,
            verbose: 0,
            secrets: Vec::new(),
        }
    }

    /// Output into the given writers, never coloured (for tests).
    #[cfg(test)]
    pub(crate) fn captured(out: Box<dyn Write>, err: Box<dyn Write>) -> Self {
        Self {
            out,
            err,
            color: false,
            err_color: false,
            err_is_terminal: false,
            out_is_terminal: false,
            quiet: false,
            verbose: 0,
            secrets: Vec::new(),
        }
    }

    /// Never print `secret` (a password): it is replaced by `***` wherever it appears.
    pub(crate) fn add_secret(&mut self, secret: &str) {
        // Very short secrets would garble unrelated text; the URL itself is redacted anyway.
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// Removes every registered secret from `text`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for s in &self.secrets {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), "***");
            }
        }
        text
    }

    /// `text` in `paint` when stdout is coloured.
    pub(crate) fn paint(&self, paint: Paint, text: impl Display) -> String {
        paint_if(self.color, paint, text)
    }

    /// `text` in `paint` when stderr is coloured.
    pub(crate) fn epaint(&self, paint: Paint, text: impl Display) -> String {
        paint_if(self.err_color, paint, text)
    }

    /// A result line on stdout (always printed). Control characters that came with user text
    /// (a message, a path, a database's error) are shown escaped, never sent to the terminal.
    pub(crate) fn line(&mut self, text: impl Display) {
        let text = self.scrub(&text.to_string());
        let text = terminal_safe(&text, self.color);
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = writeln!(self.out, "{text}");
    }

    /// A script on stdout (`--sql`): written byte for byte when stdout is a file or a pipe, so
    /// the SQL is exactly what runs; escaped like any other text when it is a terminal.
    pub(crate) fn script(&mut self, text: &str) {
        if self.out_is_terminal {
            self.line(text);
        } else {
            let text = self.scrub(text);
            let _ = writeln!(self.out, "{text}");
        }
    }

    /// A result line on stdout, hidden by `-q` (summaries of what a command did).
    pub(crate) fn info(&mut self, text: impl Display) {
        if !self.quiet {
            self.line(text);
        }
    }

    /// A JSON document on stdout.
    pub(crate) fn json(&mut self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
        self.line(text);
    }

    /// A status message on stderr, hidden by `-q`.
    pub(crate) fn status(&mut self, text: impl Display) {
        if !self.quiet {
            self.error_text(&text.to_string());
        }
    }

    /// A detail on stderr, shown with `-v`.
    pub(crate) fn verbose(&mut self, text: impl Display) {
        if self.verbose > 0 && !self.quiet {
            self.error_text(&text.to_string());
        }
    }

    /// A warning on stderr (shown even with `-q`).
    pub(crate) fn warn(&mut self, text: impl Display) {
        let label = self.epaint(Paint::Warn, "warning:");
        self.error_text(&format!("{label} {text}"));
    }

    /// Raw text on stderr, always shown (errors).
    pub(crate) fn error_text(&mut self, text: &str) {
        let text = self.scrub(text);
        let text = terminal_safe(&text, self.err_color);
        let _ = writeln!(self.err, "{}", text.trim_end_matches('\n'));
    }

    /// Flushes both streams.
    pub(crate) fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

/// `text` with every control character escaped (`\r`, `\u{1b}`…) except line feeds and tabs,
/// and, when `colored`, the colour sequences (`ESC [ … m`) this tool and its error renderer
/// write: nothing a message, a file name or a database error holds can move the cursor, clear
/// the screen, set the window title or ring the bell.
fn terminal_safe(text: &str, colored: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && colored
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c == '\n' {
            out.push('\n');
        } else {
            out.push_str(&escape_unsafe(c.encode_utf8(&mut [0; 4])));
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of a Select Graphic Rendition sequence (`ESC [ digits and ; m`) at the start of
/// `text`, if there is one.
fn sgr_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let params = body.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

fn paint_if(on: bool, paint: Paint, text: impl Display) -> String {
    if on {
        let style = paint.style();
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_and_always_win_over_the_environment() {
        assert!(!ColorChoice::Never.decide(true));
        assert!(ColorChoice::Always.decide(false));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let hostile = "add index\r\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}txt.sql";
        let shown = terminal_safe(hostile, false);
        assert_eq!(shown, "add index\\r\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{9b}31m\\u{202e}txt.sql");
        assert!(!shown.chars().any(|c| c.is_control()));
        // Our own colours pass when colour is on; other sequences are still escaped.
        let painted = format!("{} \u{1b}[2J", paint_if(true, Paint::Bad, "error:"));
        let shown = terminal_safe(&painted, true);
        assert!(shown.starts_with(&paint_if(true, Paint::Bad, "error:")), "{shown:?}");
        assert!(shown.ends_with(" \\u{1b}[2J"), "{shown:?}");
        assert_eq!(terminal_safe("two\nlines\twith tab", false), "two\nlines\twith tab");
    }

    #[test]
    fn secrets_are_scrubbed() {
        let mut o = Output::captured(Box::new(std::io::sink()), Box::new(std::io::sink()));
        o.add_secret("hunter22");
        o.add_secret("ab");
        assert_eq!(o.scrub("password hunter22 rejected (ab)"), "password *** rejected (ab)");
    }
}
