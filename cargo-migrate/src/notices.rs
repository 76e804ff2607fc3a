//! Messages a migration raises on the server (PostgreSQL `RAISE NOTICE`/`WARNING`), shown on
//! stderr with `-v`, escaped like every other text from outside.

/// Receives the driver's log records and prints the server's notices, nothing else.
struct Notices;

/// Where the PostgreSQL driver reports notices.
const TARGET: &str = "sqlx::postgres::notice";

impl log::Log for Notices {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == TARGET
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.target() != TARGET {
            return;
        }
        let level = match record.level() {
            log::Level::Error | log::Level::Warn => "warning",
            _ => "notice",
        };
        let text = record.args().to_string();
        let text = text.strip_prefix("message=").unwrap_or(&text);
        let lines: Vec<_> = text.split('\n').map(migrate_core::text::escape_unsafe).collect();
        eprintln!("{level}: {}", lines.join("\n"));
    }

    fn flush(&self) {}
}

static NOTICES: Notices = Notices;

/// Shows the server's notices from now on.
pub(crate) fn show() {
    if log::set_logger(&NOTICES).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}
