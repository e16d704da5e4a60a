#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::template::tests::fake;

fn parse(json: &str, phase: Phase) -> Result<Vec<Condition>, String> {
    let when: Vec<ConditionConfig> =
        crate::json::from_slice(json.as_bytes()).map_err(|e| e.to_string())?;
    validate_all("when", &when, phase).map_err(|e| e.to_string())
}

#[test]
fn holds_table() {
    let cases: &[(Phase, &str, bool)] = &[
        (Phase::Request, "[]", true),
        (
            Phase::Request,
            r#"[{"header": {"name": "X-A", "present": true}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"header": {"name": "x-b", "present": false}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"header": {"name": "x-a", "exact": "1,2"}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"header": {"name": "x-a", "exact": "1"}}]"#,
            false,
        ),
        (
            Phase::Request,
            r#"[{"header": {"name": "x-b", "exact": ""}}]"#,
            false,
        ),
        (
            Phase::Request,
            r#"[{"header": {"name": "cookie", "contains": "theme=dark"}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"header": {"name": "x-a", "lua_pattern": "%d$"}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"path": {"prefix": "/api/"}}, {"method": ["POST", "GET"]}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"path": {"prefix": "/api/"}}, {"method": ["POST"]}]"#,
            false,
        ),
        (
            Phase::Request,
            r#"[{"path": {"lua_pattern": "^/api/v%d"}}]"#,
            true,
        ),
        // A path test sees the path without its query (`/api/v1?user=ada&...&user=bob`), as
        // RBAC's url_path does; a test on the whole :path is a header test.
        (Phase::Request, r#"[{"path": {"suffix": "bob"}}]"#, false),
        (
            Phase::Request,
            r#"[{"path": {"contains": "user="}}]"#,
            false,
        ),
        (
            Phase::Request,
            r#"[{"path": {"lua_pattern": "%?"}}]"#,
            false,
        ),
        (Phase::Request, r#"[{"path": {"exact": "/api/v1"}}]"#, true),
        (Phase::Request, r#"[{"path": {"suffix": "/v1"}}]"#, true),
        (
            Phase::Request,
            r#"[{"header": {"name": ":path", "suffix": "bob"}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"not": {"path": {"exact": "/api/v1"}}}]"#,
            false,
        ),
        (Phase::Response, r#"[{"status": [404, 500]}]"#, true),
        (Phase::Response, r#"[{"status": [200]}]"#, false),
        (
            Phase::Response,
            r#"[{"header": {"name": "server", "exact": "up"}}]"#,
            true,
        ),
        // Route metadata (the fake's route: team "payments", canary true): Lua's truth for
        // `present`, string tests on strings, in either phase.
        (
            Phase::Request,
            r#"[{"metadata": {"namespace": "envoy.filters.http.lua", "key": "team", "present": true}}]"#,
            true,
        ),
        (
            Phase::Response,
            r#"[{"metadata": {"namespace": "envoy.filters.http.lua", "key": "canary", "present": true}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"metadata": {"namespace": "envoy.filters.http.lua", "key": "none", "present": false}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"metadata": {"namespace": "other", "key": "team", "present": true}}]"#,
            false,
        ),
        (
            Phase::Request,
            r#"[{"metadata": {"namespace": "envoy.filters.http.lua", "key": "team", "prefix": "pay"}}]"#,
            true,
        ),
        (
            Phase::Request,
            r#"[{"metadata": {"namespace": "envoy.filters.http.lua", "key": "canary", "exact": "true"}}]"#,
            false,
        ),
    ];
    for (phase, json, want) in cases {
        let conditions = parse(json, *phase).unwrap();
        assert_eq!(all_hold(&conditions, &mut fake(), *phase), *want, "{json}");
    }
}

#[test]
fn refusals_table() {
    let cases: &[(Phase, &str, &str)] = &[
        (Phase::Request, r#"[{"path": {"prefix": ""}}]"#, "when[0].path.prefix must not be empty: an empty prefix matches every value"),
        (Phase::Request, r#"[{"path": {"suffix": ""}}]"#, "when[0].path.suffix must not be empty: an empty suffix matches every value"),
        (Phase::Request, r#"[{"path": {"contains": ""}}]"#, "when[0].path.contains must not be empty: an empty contains matches every value"),
        (Phase::Request, r#"[{"path": {"lua_pattern": ""}}]"#, "when[0].path.lua_pattern must not be empty: an empty lua_pattern matches every value"),
        (Phase::Request, r#"[{"path": {"exact": ""}}]"#, "when[0].path.exact must not be empty: a path starts with /"),
        (Phase::Request, r#"[{"header": {"name": "x", "prefix": ""}}]"#, "when[0].header.prefix must not be empty: an empty prefix matches every value"),
        (Phase::Request, r#"[{"path": {}}]"#, "when[0].path must hold exactly one of exact, prefix, suffix, contains, lua_pattern, regex, got none"),
        (Phase::Request, r#"[{"path": {"exact": "/", "prefix": "/"}}]"#, "when[0].path must hold exactly one of exact, prefix, suffix, contains, lua_pattern, regex, got exact, prefix"),
        (Phase::Request, r#"[{"path": {"lua_pattern": "%b()"}}]"#, r#"when[0].path.lua_pattern must be a Lua pattern with a regex equivalent: %b at byte 0 has no regular-expression equivalent, got "%b()""#),
        (Phase::Request, r#"[{"header": {"name": "x", "present": true, "exact": "1"}}]"#, "when[0].header must hold exactly one of present, exact, prefix, suffix, contains, lua_pattern, regex"),
        (Phase::Request, r#"[{"header": {"name": ":status", "present": true}}]"#, r#"when[0].header.name must be a header name or one of :authority, :method, :path, :scheme, got ":status""#),
        (Phase::Request, r#"[{"status": [200]}]"#, "when[0].status reads the response, which this phase cannot see"),
        (Phase::Response, r#"[{"path": {"exact": "/"}}]"#, "when[0].path reads the request, which a module entered only for the response cannot see: use the bundle module (moonshift-bundle: this filter by its root_id, or in a pipeline), which is entered for both phases"),
        (Phase::Response, r#"[{"not": {"method": ["GET"]}}]"#, "when[0].not.method reads the request, which a module entered only for the response cannot see: use the bundle module (moonshift-bundle: this filter by its root_id, or in a pipeline), which is entered for both phases"),
        (Phase::Response, r#"[{"status": [99]}]"#, "when[0].status must hold HTTP status codes (100..599), got 99"),
        (Phase::Request, r#"[{"method": []}]"#, "when[0].method must name at least one method"),
        (Phase::Request, r#"[{"query": "x"}]"#, "[0].query: unknown variant `query`, expected one of `header`, `metadata`, `path`, `method`, `status`, `not`"),
        (Phase::Request, r#"[{"metadata": {"namespace": "", "key": "k", "present": true}}]"#, "when[0].metadata.namespace must not be empty"),
        (Phase::Response, r#"[{"metadata": {"namespace": "n", "key": "", "present": true}}]"#, "when[0].metadata.key must not be empty"),
        (Phase::Request, r#"[{"metadata": {"namespace": "n", "key": "k"}}]"#, "when[0].metadata must hold exactly one of present, exact, prefix, suffix, contains, lua_pattern, regex"),
        (Phase::Request, r#"[{"metadata": {"namespace": "n", "key": "k", "suffix": ""}}]"#, "when[0].metadata.suffix must not be empty: an empty suffix matches every value"),
        (Phase::Request, r#"[{"metadata": {"namespace": "n", "key": "k", "present": true, "name": "x"}}]"#, "[0].metadata.name: unknown field `name`, expected one of `namespace`, `key`, `present`, `exact`, `prefix`, `suffix`, `contains`, `lua_pattern`, `regex`"),
        (Phase::Request, r#"[{"not": {"not": {"not": {"not": {"not": {"path": {"exact": "/"}}}}}}}]"#, "when[0].not.not.not.not: `not` nests at most 4 deep"),
    ];
    for (phase, json, want) in cases {
        assert_eq!(parse(json, *phase).err().as_deref(), Some(*want), "{json}");
    }
}

/// `regex` tests, in a build with the `regex` feature (`make test` runs this crate's tests with
/// it too): whole-value matches, and a bad pattern named.
#[cfg(feature = "regex")]
#[test]
fn regex_tests_with_the_feature() {
    for (json, want) in [
        (
            r#"[{"header": {"name": "x-a", "regex": "[0-9],[0-9]"}}]"#,
            true,
        ),
        (r#"[{"header": {"name": "x-a", "regex": "[0-9]"}}]"#, false),
    ] {
        let conditions = parse(json, Phase::Request).unwrap();
        assert_eq!(
            all_hold(&conditions, &mut fake(), Phase::Request),
            want,
            "{json}"
        );
    }
    assert_eq!(
        parse(r#"[{"path": {"regex": "("}}]"#, Phase::Request)
            .err()
            .as_deref(),
        Some("when[0].path.regex does not compile: error: unclosed group")
    );
}

/// Without the `regex` feature (the shipped modules), a `regex` test is refused, naming the
/// field and what to write instead.
#[cfg(not(feature = "regex"))]
#[test]
fn regex_tests_are_refused_without_the_feature() {
    assert_eq!(
        parse(r#"[{"path": {"regex": "^/a"}}]"#, Phase::Request).err().as_deref(),
        Some("when[0].path.regex needs a module built with the `regex` feature, which this one is not; write the test as a lua_pattern")
    );
}

/// In the response phase of a module entered for both phases (the bundle), the request's path
/// and method can be read from what the filter kept; a condition says whether it reads them.
#[test]
fn the_response_phase_sees_the_kept_request_line() {
    let when: Vec<ConditionConfig> = serde_json::from_str(
        r#"[{"path": {"prefix": "/api/"}}, {"not": {"method": ["HEAD"]}}, {"status": [200]}]"#,
    )
    .unwrap();
    let sight = Sight {
        phase: Phase::Response,
        kept_request_line: true,
        replaces_body: false,
    };
    let conditions = validate_all_in("when", &when, sight).unwrap();
    assert!(reads_request_line(&conditions));
    assert!(reads_request_line(&conditions[1..2]));
    assert!(!reads_request_line(&conditions[2..]));
    assert!(validate_all("when", &when, Phase::Response).is_err());
    // `status` still reads the response only.
    let status: Vec<ConditionConfig> = serde_json::from_str(r#"[{"status": [200]}]"#).unwrap();
    let request_sight = Sight {
        phase: Phase::Request,
        kept_request_line: true,
        replaces_body: false,
    };
    assert!(validate_all_in("when", &status, request_sight).is_err());
}

/// What a path test sees: the path up to its query or fragment.
#[test]
fn url_path_table() {
    let cases: &[(&str, &str)] = &[
        ("/admin/delete?x=.png", "/admin/delete"),
        ("/admin?r=/public/", "/admin"),
        ("/a#frag?x", "/a"),
        ("/a?b#c", "/a"),
        ("/plain", "/plain"),
        ("?only", ""),
        ("", ""),
    ];
    for (path, want) in cases {
        assert_eq!(url_path(path.as_bytes()), want.as_bytes(), "{path}");
    }
}
