use super::request_line_refuses;

/// Rendered rewrites of the request line: what a client could send is taken, the rest not.
#[test]
fn rewritten_request_lines_are_checked_table() {
    let cases: &[(&str, &[u8], Option<&str>)] = &[
        (":path", b"/v2/api?x=1", None),
        (
            ":path",
            b"/a HTTP/1.0",
            Some("holds a space, a control byte or #"),
        ),
        (
            ":path",
            b"/a\r\nx: y",
            Some("holds a space, a control byte or #"),
        ),
        (
            ":path",
            b"/a#frag",
            Some("holds a space, a control byte or #"),
        ),
        (":path", b"api", Some("does not start with /")),
        (":authority", b"api.internal:8080", None),
        (
            ":authority",
            b"evil.com/x",
            Some("holds a space, a control byte, /, @, ?, # or \\"),
        ),
        (
            ":authority",
            b"user@host",
            Some("holds a space, a control byte, /, @, ?, # or \\"),
        ),
        (
            ":authority",
            b"a b",
            Some("holds a space, a control byte, /, @, ?, # or \\"),
        ),
        (":authority", b"", Some("is empty")),
        ("x-other", b"a b", None),
    ];
    for (name, value, want) in cases {
        assert_eq!(request_line_refuses(name, value), *want, "{name} {value:?}");
    }
}
