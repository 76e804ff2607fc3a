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
    if password(url).is_some() {
        let rest_start = authority_start(url);
        let authority_end = out[rest_start..].find(['/', '?', '#']).map_or(out.len(), |p| rest_start + p);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let info = &out[rest_start..rest_start + at];
            if let Some(colon) = info.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass") => {
                    format!("{k}=***")
                }
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

/// Where the `user:password@host` part starts: after `scheme://`, or at the start of a string
/// typed without a scheme (`user:password@host/db`).
fn authority_start(url: &str) -> usize {
    url.find("://").map_or(0, |i| i + 3)
}

/// The password of a URL, from its user-info or a `password=` parameter, as written.
fn password(url: &str) -> Option<String> {
    let rest = &url[authority_start(url)..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let from_info = authority.rfind('@').and_then(|at| authority[..at].split_once(':')).map(|(_, p)| p.to_owned());
    from_info.filter(|p| !p.is_empty()).or_else(|| {
        let query = url.split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass")).then(|| v.to_owned())
        })
    })
}

/// Removes `url`'s password (raw and percent-decoded) and the URL itself from `message`.
pub fn scrub_url(url: &str, message: &str) -> String {
    let mut out = message.replace(url, &redact_url(url));
    if let Some(pass) = password(url) {
        for form in [percent_decode(&pass), pass] {
            if form.len() >= 2 || (!form.is_empty() && out.contains(&form)) {
                out = out.replace(&form, "***");
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
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
