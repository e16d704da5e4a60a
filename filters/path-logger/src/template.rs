//! The log message template: literal text with `%REQ(name)%` placeholders.
//!
//! `%REQ(name)%` is Envoy's access-log spelling for "the request header `name`" and takes the
//! pseudo-headers `:path`, `:method`, `:authority`, `:scheme` too. A placeholder is replaced by the
//! header's value as Lua's `headers():get()` returns it (every value joined with `,`). Any other `%`
//! is literal text.
//!
//! A header missing from the request renders as `-`, as in Envoy's access logs. The Lua it replaces
//! raises instead (`"..." .. nil`); see the crate README, "Known differences".

use moonshift_shared::config::{self, ConfigError};

/// What a missing header renders as.
pub const MISSING: &[u8] = b"-";

const OPEN: &str = "%REQ(";
const CLOSE: &str = ")%";

/// Where the ASCII `needle` starts in `haystack`: a byte search, so the position is a char
/// boundary. (`str::find` would bring in the two-way string searcher: 2 KB of module.)
fn find(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// A lowercase request header name.
    Header(String),
}

/// What a template reads from the request; see [`Template::needs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    PseudoHeaders,
    HeaderMap,
}

/// A parsed message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `message`; `field` names it in errors.
    ///
    /// `%REQ(` starts a placeholder that the next `)%` ends, the way the Lua's pattern
    /// `%%REQ%((.-)%)%%` reads it; an unterminated `%REQ(` is literal text.
    pub fn parse(field: &str, message: &str) -> Result<Self, ConfigError> {
        let mut segments = Vec::new();
        let mut rest = message;
        while let Some(start) = find(rest, OPEN) {
            let after_open = rest.get(start + OPEN.len()..).unwrap_or("");
            let Some(len) = find(after_open, CLOSE) else {
                break;
            };
            let literal = rest.get(..start).unwrap_or("");
            let name = after_open.get(..len).unwrap_or("");
            let header = config::readable_request_header(&format!("{field} placeholder"), name)?;
            if !literal.is_empty() {
                segments.push(Segment::Literal(literal.to_string()));
            }
            segments.push(Segment::Header(header));
            rest = after_open.get(len + CLOSE.len()..).unwrap_or("");
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_string()));
        }
        Ok(Self { segments })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// What rendering needs from the request: nothing, only pseudo-headers (which Envoy never
    /// repeats, so one value each is Lua `get`'s answer), or the whole header map (to join a
    /// regular header's repeated values).
    pub fn needs(&self) -> Needs {
        let mut needs = Needs::Nothing;
        for segment in &self.segments {
            if let Segment::Header(name) = segment {
                if !name.starts_with(':') {
                    return Needs::HeaderMap;
                }
                needs = Needs::PseudoHeaders;
            }
        }
        needs
    }

    /// Renders the message; `lookup` returns a header's value as Lua `get` would, `None` when the
    /// request lacks it.
    pub fn render(&self, mut lookup: impl FnMut(&str) -> Option<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Segment::Header(name) => match lookup(name) {
                    Some(value) => out.extend_from_slice(&value),
                    None => out.extend_from_slice(MISSING),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::{Header, Literal};

    #[test]
    fn parse_table() {
        let h = |s: &str| Header(s.to_string());
        let l = |s: &str| Literal(s.to_string());
        let cases: Vec<(&str, Result<Vec<Segment>, &str>)> = vec![
            (
                "Request path: %REQ(:path)%",
                Ok(vec![l("Request path: "), h(":path")]),
            ),
            (
                "%REQ(:METHOD)% %REQ(:path)%",
                Ok(vec![h(":method"), l(" "), h(":path")]),
            ),
            (
                "ua=%REQ(User-Agent)%!",
                Ok(vec![l("ua="), h("user-agent"), l("!")]),
            ),
            ("100% plain", Ok(vec![l("100% plain")])),
            ("%REQ(:path", Ok(vec![l("%REQ(:path")])),
            ("", Ok(vec![])),
            (
                "%REQ()%",
                Err(
                    r#"message placeholder must be a non-empty HTTP header name (RFC 9110 token characters), got """#,
                ),
            ),
            (
                "%REQ(a)b)%",
                Err(
                    r#"message placeholder must be a non-empty HTTP header name (RFC 9110 token characters), got "a)b""#,
                ),
            ),
            (
                "%REQ(:status)%",
                Err(
                    r#"message placeholder must be a header name or one of :authority, :method, :path, :scheme, got ":status""#,
                ),
            ),
        ];
        for (message, want) in cases {
            let got = Template::parse("message", message)
                .map(|t| t.segments)
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "message {message:?}");
        }
    }

    #[test]
    fn needs_table() -> Result<(), ConfigError> {
        let cases = [
            ("plain", Needs::Nothing),
            ("Request path: %REQ(:path)%", Needs::PseudoHeaders),
            ("%REQ(:method)% %REQ(:authority)%", Needs::PseudoHeaders),
            ("%REQ(:path)% %REQ(user-agent)%", Needs::HeaderMap),
        ];
        for (message, want) in cases {
            assert_eq!(
                Template::parse("message", message)?.needs(),
                want,
                "{message}"
            );
        }
        Ok(())
    }

    #[test]
    fn render_table() -> Result<(), ConfigError> {
        let headers: Vec<(String, Vec<u8>)> = vec![
            (":path".into(), b"/a?b=1".to_vec()),
            ("x-a".into(), b"1".to_vec()),
            ("x-a".into(), b"2".to_vec()),
            ("x-bin".into(), b"\xff".to_vec()),
            ("x-empty".into(), b"".to_vec()),
        ];
        let cases: [(&str, &[u8]); 6] = [
            ("Request path: %REQ(:path)%", b"Request path: /a?b=1"),
            ("%REQ(x-a)%", b"1,2"),
            ("[%REQ(x-bin)%]", b"[\xff]"),
            ("[%REQ(x-empty)%]", b"[]"),
            ("method %REQ(:method)%", b"method -"),
            ("plain", b"plain"),
        ];
        for (message, want) in cases {
            let template = Template::parse("message", message)?;
            let got = template.render(|name| moonshift_shared::headers::lua_get(&headers, name));
            assert_eq!(got, want, "message {message:?}");
        }
        Ok(())
    }
}
