//! The REPL's `curl` command: a request written back as an equivalent curl command line,
//! each word quoted for a POSIX shell, so a session turns into a script.

use crate::request::{Body, Request, ACCEPT_ENCODING, USER_AGENT};

/// The curl command line for `request`, with `-L` when redirects are followed and `-k`
/// when certificates are not checked.
pub(crate) fn command(request: &Request, follow: bool, insecure: bool) -> String {
    let mut words: Vec<String> = vec!["curl".into()];
    match request.method.as_str() {
        "GET" => {}
        "HEAD" => words.push("-I".into()),
        m => {
            words.push("-X".into());
            words.push(m.into());
        }
    }
    let has = |name: &str| {
        request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    for (name, value) in &request.headers {
        let ours = match name.to_ascii_lowercase().as_str() {
            "user-agent" => value == USER_AGENT,
            "accept" => value == "*/*",
            "accept-encoding" => value == ACCEPT_ENCODING,
            _ => false,
        };
        if ours {
            continue;
        }
        words.push("-H".into());
        words.push(if value.is_empty() {
            format!("{name};")
        } else {
            format!("{name}: {value}")
        });
    }
    if !has("user-agent") {
        words.extend(["-H".into(), "User-Agent:".into()]);
    }
    if !has("accept") {
        words.extend(["-H".into(), "Accept:".into()]);
    }
    if request.header("accept-encoding") == Some(ACCEPT_ENCODING) {
        words.push("--compressed".into());
    }
    match &request.body {
        Body::Empty => {}
        Body::Bytes(bytes) => {
            words.push("--data-binary".into());
            words.push(String::from_utf8_lossy(bytes).into_owned());
        }
        Body::File { path, .. } => {
            words.push("--data-binary".into());
            words.push(format!("@{}", path.display()));
        }
    }
    if request.body != Body::Empty && !has("content-type") {
        // curl would add its own form type; ours sent none.
        words.extend(["-H".into(), "Content-Type:".into()]);
    }
    if follow {
        words.push("-L".into());
    }
    if insecure {
        words.push("-k".into());
    }
    words.push(request.location.url());
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// A word as a POSIX shell reads it back: bare when it holds only safe characters, else
/// in single quotes (a quote inside becomes `'\''`).
pub(crate) fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::parse_url;

    #[test]
    fn quoting_round_trips_through_sh() {
        for word in [
            "plain",
            "a b",
            "it's",
            "$HOME",
            "`x`",
            "a\"b",
            "",
            "semi;colon",
            "new\nline",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(word)))
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                word,
                "{word:?} quoted as {}",
                quote(word)
            );
        }
    }

    #[test]
    fn a_post_with_json_and_a_header() {
        let request = Request {
            method: "POST".into(),
            location: parse_url("http://h:1/items?a=b c", false).unwrap().0,
            headers: vec![
                ("User-Agent".into(), USER_AGENT.into()),
                ("Accept".into(), "application/json, */*;q=0.5".into()),
                ("Accept-Encoding".into(), ACCEPT_ENCODING.into()),
                ("Content-Type".into(), "application/json".into()),
                ("X-Note".into(), "it's".into()),
            ],
            body: Body::Bytes(br#"{"name": "pen"}"#.to_vec()),
        };
        assert_eq!(
            command(&request, true, false),
            r#"curl -X POST -H 'Accept: application/json, */*;q=0.5' -H 'Content-Type: application/json' -H 'X-Note: it'\''s' --compressed --data-binary '{"name": "pen"}' -L 'http://h:1/items?a=b%20c'"#
        );
    }
}
