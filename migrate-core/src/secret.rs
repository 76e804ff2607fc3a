//! Keeping database passwords out of every message: redacting URLs and scrubbing text.

/// `url` with its password (in the user-info part or a `password=` parameter) replaced by `***`.
///
/// ```
/// use migrate_core::redact_url;
/// assert_eq!(redact_url("postgres://ann:s3cret@db/app"), "postgres://ann:***@db/app");
/// assert_eq!(redact_url("mysql://db/app?password=s3cret&ssl-mode=required"), "mysql://db/app?password=***&ssl-mode=required");
/// assert_eq!(redact_url("sqlite:app.db"), "sqlite:app.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(range) = info_password(url) {
        out.replace_range(range, "***");
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if is_password_key(k) => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

fn is_password_key(k: &str) -> bool {
    k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass")
}

/// Where the `user:password@host` part starts: after `scheme://`, or at the start of a string
/// typed without a scheme (`user:password@host/db`).
fn authority_start(url: &str) -> usize {
    url.find("://").map_or(0, |i| i + 3)
}

/// The byte range of the user-info password: from after `user:` to the **last** `@` of the URL.
/// The last one rather than the first after the scheme, because a password that is not
/// percent-encoded may itself hold `@`, `/`, `?` or `#` (`user:p@ss:w/rd?x@host/db`); such a URL
/// does not parse, and its password must stay hidden all the same. (A URL with `@` in its query
/// and a port loses a little more than its password in messages; it never shows a password.)
fn info_password(url: &str) -> Option<std::ops::Range<usize>> {
    let start = authority_start(url);
    let rest = &url[start..];
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    (colon + 1 < at).then(|| start + colon + 1..start + at)
}

/// The password of a URL, from its user-info or a `password=` parameter, as written.
fn password(url: &str) -> Option<String> {
    info_password(url).map(|r| url[r].to_owned()).or_else(|| {
        let query = url.split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (is_password_key(k) && !v.is_empty()).then(|| v.to_owned())
        })
    })
}

/// Whether `url`'s user-info password holds characters that must be percent-encoded (`@`, `/`,
/// `?`, `#`, `[`, `]`, a space, a `%` not followed by two hex digits): such a URL cannot be read
/// as written, and the message about it should say how to fix it.
///
/// ```
/// use migrate_core::password_needs_encoding;
/// assert!(password_needs_encoding("postgres://u:p@ss:w/rd%41?#&=x y@host/db"));
/// assert!(!password_needs_encoding("postgres://u:p%40ss:x!@host/db"));
/// assert!(!password_needs_encoding("sqlite:app.db"));
/// ```
pub fn password_needs_encoding(url: &str) -> bool {
    let Some(range) = info_password(url) else { return false };
    let pass = url[range].as_bytes();
    let hex = |i: usize| pass.get(i).is_some_and(u8::is_ascii_hexdigit);
    pass.iter().enumerate().any(|(i, &b)| match b {
        b'%' => !(hex(i + 1) && hex(i + 2)),
        b'@' | b'/' | b'?' | b'#' | b'[' | b']' => true,
        b => b.is_ascii_whitespace() || b.is_ascii_control(),
    })
}

/// Removes `url`'s password (raw and percent-decoded) and the URL itself from `message`.
pub fn scrub_url(url: &str, message: &str) -> String {
    let mut out = message.replace(url, &redact_url(url));
    if let Some(pass) = password(url) {
        for form in [percent_decode(&pass), pass] {
            out = replace_secret(&out, &form);
        }
    }
    out
}

/// Replaces `secret` in `text` by `***`. A short secret is replaced only where it stands as a
/// word of its own, so that a password like `p` never turns `port` into `***ort`.
fn replace_secret(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    if secret.chars().count() >= 8 {
        return text.replace(secret, "***");
    }
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(secret) {
        if i < last {
            continue;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + secret.len()..].chars().next();
        let edge_is_word = |c: Option<char>, inner: Option<char>| word(c) && word(inner);
        if edge_is_word(before, secret.chars().next()) || edge_is_word(after, secret.chars().next_back()) {
            continue;
        }
        out.push_str(&text[last..i]);
        out.push_str("***");
        last = i + secret.len();
    }
    out.push_str(&text[last..]);
    out
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// `url` without its password (in the user info, or a `password=` query parameter), and that
/// password percent-decoded: for handing a URL to another program with the password in its
/// environment rather than its arguments, where every user of the machine can read them.
///
/// ```
/// use migrate_core::split_password;
/// assert_eq!(split_password("postgres://ann:p%40ss@db/app"), ("postgres://ann@db/app".to_owned(), Some("p@ss".to_owned())));
/// assert_eq!(split_password("postgres://ann@db/app?sslmode=require&password=s%3Bx"), ("postgres://ann@db/app?sslmode=require".to_owned(), Some("s;x".to_owned())));
/// assert_eq!(split_password("postgres://db/app"), ("postgres://db/app".to_owned(), None));
/// ```
pub fn split_password(url: &str) -> (String, Option<String>) {
    let (mut out, mut found) = match info_password(url) {
        Some(range) => {
            let password = percent_decode(&url[range.clone()]);
            let mut out = url.to_owned();
            // The `:` before the password goes with it.
            out.replace_range(range.start - 1..range.end, "");
            (out, Some(password))
        }
        None => (url.to_owned(), None),
    };
    if let Some((head, query)) = out.split_once('?') {
        let mut kept = Vec::new();
        for kv in query.split('&') {
            match kv.split_once('=') {
                Some((k, v)) if is_password_key(k) => {
                    found.get_or_insert_with(|| percent_decode(v));
                }
                _ => kept.push(kv),
            }
        }
        out = if kept.is_empty() { head.to_owned() } else { format!("{head}?{}", kept.join("&")) };
    }
    (out, found)
}

/// The password in `url`, as written and percent-decoded (each once, non-empty), for scrubbing
/// from text that did not come with the URL attached.
pub fn url_passwords(url: &str) -> Vec<String> {
    let Some(raw) = password(url) else { return Vec::new() };
    let decoded = percent_decode(&raw);
    let mut out = vec![raw];
    if decoded != out[0] {
        out.push(decoded);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_only_the_password() {
        let cases = [
            ("postgres://bob:secret@db:5432/app", "postgres://bob:***@db:5432/app"),
            (
                "mysql://root:p%40ss@127.0.0.1/test?ssl-mode=disabled",
                "mysql://root:***@127.0.0.1/test?ssl-mode=disabled",
            ),
            ("postgres://bob@db/app", "postgres://bob@db/app"),
            ("postgres://bob:a@b@db/app", "postgres://bob:***@db/app"),
            ("postgres://db/app?user=a&password=x", "postgres://db/app?user=a&password=***"),
            ("sqlite:migrate.db", "sqlite:migrate.db"),
            ("not a url", "not a url"),
            // Typed without a scheme: still a password.
            ("qa_user:s3cretPW@127.0.0.1/db", "qa_user:***@127.0.0.1/db"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn a_password_that_is_not_percent_encoded_is_hidden_to_the_last_at() {
        for scheme in ["postgres", "mysql"] {
            let url = format!("{scheme}://user:p@ss:w/rd%41?#&=x y@host/db");
            assert_eq!(redact_url(&url), format!("{scheme}://user:***@host/db"));
            assert!(password_needs_encoding(&url));
            let message = format!("error with configuration: invalid port number in {url}; check the port");
            let scrubbed = scrub_url(&url, &message);
            assert!(
                !scrubbed.contains("ss:w") && !scrubbed.contains("rd%41") && !scrubbed.contains("x y"),
                "{scrubbed}"
            );
            assert!(scrubbed.contains("invalid port number") && scrubbed.contains("check the port"), "{scrubbed}");
        }
    }

    #[test]
    fn short_passwords_never_garble_other_words() {
        let url = "postgres://u:p@h/db";
        assert_eq!(scrub_url(url, "p rejected on port 5432 (p)"), "*** rejected on port 5432 (***)");
        assert_eq!(replace_secret("xabx ab ab", "ab"), "xabx *** ***");
    }

    #[test]
    fn passwords_are_found_encoded_and_decoded() {
        assert_eq!(url_passwords("mysql://root:p%40ss@h/db"), ["p%40ss", "p@ss"]);
        assert_eq!(url_passwords("mysql://h/db?password=x1"), ["x1"]);
        assert!(url_passwords("mysql://root@h/db").is_empty());
        assert!(url_passwords("mysql://root:@h/db").is_empty());
    }

    #[test]
    fn scrubbing_removes_every_form() {
        let url = "postgres://ann:p%40ss@db:5432/app";
        assert_eq!(
            scrub_url(url, "failed for p@ss at postgres://ann:p%40ss@db:5432/app"),
            "failed for *** at postgres://ann:***@db:5432/app"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
