use super::{base64url, json_field, jwt_payload, writable};
use alloc::string::String;
use alloc::vec::Vec;

fn path(text: &str) -> Vec<String> {
    text.split('.').map(String::from).collect()
}

#[test]
fn base64url_table() {
    let cases: &[(&[u8], Option<&[u8]>)] = &[
        (b"", Some(b"")),
        (b"YQ", Some(b"a")),
        (b"YQ==", Some(b"a")),
        (b"YWI", Some(b"ab")),
        (b"YWI=", Some(b"ab")),
        (b"YWJj", Some(b"abc")),
        (b"-_-_", Some(&[0xfb, 0xff, 0xbf])),
        // Standard base64's alphabet is not base64url's.
        (b"+/+/", None),
        (b"Y", None),
        (b"YQ=", None),
        (b"YQ===", None),
        (b"YWJj=", None),
        (b"Y Q", None),
        (b"=", None),
    ];
    for (text, want) in cases {
        assert_eq!(base64url(text).as_deref(), *want, "{text:?}");
    }
}

#[test]
fn jwt_payload_table() {
    let token = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
    let cases: &[(&[u8], Option<&[u8]>)] = &[
        (token, Some(br#"{"sub":"a"}"#)),
        (
            b"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
            Some(br#"{"sub":"a"}"#),
        ),
        (b"bEARER   a.eyJzdWIiOiJhIn0.", Some(br#"{"sub":"a"}"#)),
        (b"Basic eyJzdWIiOiJhIn0", None),
        (b"a.eyJzdWIiOiJhIn0", None),
        (b"a..c", None),
        (b"a.eyJzdWIiOiJhIn0.c.d", None),
        (b"a.e*J.c", None),
        (b"Bearer", None),
    ];
    for (value, want) in cases {
        assert_eq!(
            jwt_payload(value).as_deref(),
            *want,
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
}

#[test]
fn json_field_table() {
    let doc = br#" {"sub":"alice","n":42,"neg":-7,"admin":true,"off":false,"nil":null,
        "roles":["a","b",3],"mixed":["a",true],"deep":[["a"]],"empty":[],
        "f":1.5,"e":1e3,"big":123456789012345,"fourteen":12345678901234,
        "realm":{"team":"payments","obj":{}},"esc":"a\"b\\c\/d\u00e9\ud83d\ude00",
        "dup":"first","dup":"second","nest":{"x":"1"},"nest":{"y":"2"}} "#;
    let cases: &[(&str, Option<&[u8]>)] = &[
        ("sub", Some(b"alice")),
        ("n", Some(b"42")),
        ("neg", Some(b"-7")),
        ("admin", Some(b"true")),
        ("off", Some(b"false")),
        ("nil", None),
        ("roles", Some(b"a,b,3")),
        ("mixed", None),
        ("deep", None),
        ("empty", Some(b"")),
        ("f", None),
        ("e", None),
        ("big", None),
        ("fourteen", Some(b"12345678901234")),
        ("realm", None),
        ("realm.team", Some(b"payments")),
        ("realm.obj", None),
        ("realm.none", None),
        ("sub.x", None),
        ("absent", None),
        ("esc", Some("a\"b\\c/d\u{e9}\u{1f600}".as_bytes())),
        ("dup", Some(b"second")),
        ("nest.x", None),
        ("nest.y", Some(b"2")),
    ];
    for (key, want) in cases {
        assert_eq!(json_field(doc, &path(key)).as_deref(), *want, "{key}");
    }
}

#[test]
fn invalid_documents_render_missing_table() {
    let cases: &[&[u8]] = &[
        b"",
        b"[\"a\"]",
        b"\"a\"",
        br#"{"a":"x"} x"#,
        br#"{"a":"x",}"#,
        br#"{"a":"x" "b":1}"#,
        br#"{"a":01}"#,
        br#"{"a":1.}"#,
        br#"{"a":"x\q"}"#,
        br#"{"a":"\ud800"}"#,
        br#"{"a":"\udc00"}"#,
        br#"{"a":"\u12"}"#,
        b"{\"a\":\"x\ny\"}",
        br#"{"a":"x","b":tru}"#,
        br#"{'a':"x"}"#,
        br#"{"a":"x""#,
    ];
    for doc in cases {
        assert_eq!(
            json_field(doc, &path("a")),
            None,
            "{:?}",
            String::from_utf8_lossy(doc)
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = |levels: usize| {
        let mut doc = Vec::new();
        doc.extend_from_slice(br#"{"a":"x","z":"#);
        doc.extend(core::iter::repeat_n(b'[', levels));
        doc.extend(core::iter::repeat_n(b']', levels));
        doc.push(b'}');
        doc
    };
    assert_eq!(
        json_field(&deep(30), &path("a")).as_deref(),
        Some(&b"x"[..])
    );
    assert_eq!(json_field(&deep(40), &path("a")), None);
    // 100,000 brackets: refused at depth 32, without recursing further.
    assert_eq!(json_field(&deep(100_000), &path("a")), None);
}

#[test]
fn control_bytes_are_not_writable_table() {
    let cases: &[(&[u8], bool)] = &[
        (b"plain", true),
        (b"tab\there", true),
        (b"line\nbreak", false),
        (b"cr\r", false),
        (b"nul\0", false),
        (b"del\x7f", false),
        ("é".as_bytes(), true),
    ];
    for (value, want) in cases {
        assert_eq!(writable(value), *want, "{value:?}");
    }
}
