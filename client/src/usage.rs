//! The text after `client --help`'s flag list: the forms, request items, examples and
//! exit codes, kept in one place so the README can quote it.

/// Shown after the flags by `--help`.
pub(crate) const AFTER_HELP: &str = "\
Where to send it:
  client http://127.0.0.1:6789/HelloWorld.html     a URL (http:// or https://)
  client :6789/x    client localhost:6789/x         localhost shorthands (HTTPie's)
  client 127.0.0.1 6789 HelloWorld.html             HOST PORT PATH: fetch once and exit
  client 127.0.0.1 6789                             HOST PORT: open the REPL (`help` there)
  client example.org 443    client --tls h 8443     port 443 or --tls mean HTTPS

Request items, after the URL or PATH (HTTPie's syntax):
  Name:value   header          Name:        drop a default header (or send it empty)
  name==value  query parameter name=value   JSON string field (-f: form field)
  name:=json   raw JSON field  @FILE        the whole body from FILE
  A backslash escapes a separator: 'a\\:b=c'. With fields and no -X, the method is POST.

Examples:
  client -L http://127.0.0.1:6789/sub           follow the redirect to /sub/
  client :6789/api name=pen price:=3            POST {\"name\": \"pen\", \"price\": 3}
  client -f :6789/form a=1 -a me                POST a=1 as a form, asking for a password
  client :6789/big.iso -o big.iso -C            resume a download
  client :6789/data.json | jq .                 piped output is the body, byte for byte
  printf 'get /\\nquit\\n' | client ::1 8080      script the REPL through a pipe

Exit status:
  0  the response was 1xx-3xx (or the REPL ended)
  1  any other failure: connection refused, malformed reply, truncated or reset body,
     body on a HEAD or 304 response, undecodable body, unwritable output file
  2  the server did not answer within --timeout
  4  the response was 4xx
  5  the response was 5xx (or an undefined status, 600-999)
  6  a redirect loop, or more than --max-redirects redirects
  7  TLS failed: untrusted, expired or wrong-name certificate, or one side does not
     speak TLS
  130 a request interrupted with Ctrl-C";
