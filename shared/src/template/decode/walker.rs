//! The JSON walk behind `:json(path)` ([`super::json_field`]): one pass over a document that
//! validates it and keeps what lies at the path, bounded in depth, never recursing past
//! [`MAX_JSON_DEPTH`]. The engine's `json_field` (lua-reference/engine/engine.lua) is the same
//! walk, step for step.

use super::MAX_JSON_DEPTH;

/// The most digits an integer may have to render: LuaJIT's `tostring` writes 14 significant
/// digits, so such an integer renders exactly as written.
const MAX_INTEGER_DIGITS: usize = 14;
use alloc::string::String;
use alloc::vec::Vec;

/// The value at `path` of `text`, rendered; `None` when the document is not valid JSON or the
/// value renders missing.
pub(super) fn field(text: &[u8], path: &[String]) -> Option<Vec<u8>> {
    let mut walker = Walker {
        bytes: text,
        at: 0,
        path,
        found: None,
    };
    walker.value(0, Some(0))?;
    walker.space();
    match walker.at == text.len() {
        true => walker.found,
        false => None,
    }
}

/// One pass over a document, validating it and keeping what lies at `path`.
struct Walker<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a [String],
    /// What the path's value renders to, as far as the document has been read.
    found: Option<Vec<u8>>,
}

/// A scalar as a list item or a field renders it; `None` for what renders missing.
enum Scalar {
    Text(Vec<u8>),
    Other,
}

impl Walker<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        let there = self.peek() == Some(byte);
        if there {
            self.at += 1;
        }
        there
    }

    /// Reads one value. `on_path`: how many of the path's keys led here (`None`: off the
    /// path). `None` when the document is not valid JSON.
    fn value(&mut self, depth: usize, on_path: Option<usize>) -> Option<()> {
        self.space();
        match on_path {
            Some(k) if k == self.path.len() => self.found = self.scalar_or_list(depth)?,
            Some(k) => {
                // A later key of the same name replaces what an earlier one led to.
                self.found = None;
                match self.peek() {
                    Some(b'{') => self.object(depth, Some(k))?,
                    _ => {
                        self.scalar_or_list(depth)?;
                    }
                }
            }
            None => {
                self.scalar_or_list(depth)?;
            }
        }
        Some(())
    }

    /// An object's members; those named by the path's next key are read on the path.
    fn object(&mut self, depth: usize, on_path: Option<usize>) -> Option<()> {
        if depth >= MAX_JSON_DEPTH {
            return None;
        }
        self.at += 1;
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            self.space();
            if self.peek() != Some(b'"') {
                return None;
            }
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            let next = on_path.and_then(|k| {
                let wanted = self.path.get(k)?;
                (wanted.as_bytes() == key.as_slice()).then_some(k + 1)
            });
            self.value(depth + 1, next)?;
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// A scalar or a list, rendered as a field renders it (`None` inside: renders missing).
    fn scalar_or_list(&mut self, depth: usize) -> Option<Option<Vec<u8>>> {
        match self.peek()? {
            b'[' => self.list(depth),
            b'{' => self.object(depth, None).map(|_| None),
            _ => Some(match self.scalar()? {
                Scalar::Text(text) => Some(text),
                Scalar::Other => None,
            }),
        }
    }

    /// A list: its strings and short integers joined with `,`, or missing if it holds else.
    fn list(&mut self, depth: usize) -> Option<Option<Vec<u8>>> {
        if depth >= MAX_JSON_DEPTH {
            return None;
        }
        self.at += 1;
        let mut joined = Some(Vec::new());
        if self.eat(b']') {
            return Some(joined);
        }
        let mut first = true;
        loop {
            self.space();
            let item = match self.peek()? {
                b'[' | b'{' => {
                    self.scalar_or_list(depth + 1)?;
                    None
                }
                b't' | b'f' => {
                    self.scalar()?;
                    None
                }
                _ => match self.scalar()? {
                    Scalar::Text(text) => Some(text),
                    Scalar::Other => None,
                },
            };
            joined = match (joined, item) {
                (Some(mut out), Some(text)) => {
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(&text);
                    Some(out)
                }
                _ => None,
            };
            first = false;
            if self.eat(b']') {
                return Some(joined);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// A string, number, `true`, `false` or `null`.
    fn scalar(&mut self) -> Option<Scalar> {
        match self.peek()? {
            b'"' => self.string().map(Scalar::Text),
            b't' => self.word(b"true", Scalar::Text(b"true".to_vec())),
            b'f' => self.word(b"false", Scalar::Text(b"false".to_vec())),
            b'n' => self.word(b"null", Scalar::Other),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn word(&mut self, word: &[u8], scalar: Scalar) -> Option<Scalar> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| {
            self.at = end;
            scalar
        })
    }

    /// A number as JSON writes it; an integer of at most 14 digits renders as written.
    fn number(&mut self) -> Option<Scalar> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.digits();
        let first = self.bytes.get(self.at - digits).copied();
        if digits == 0 || (first == Some(b'0') && digits > 1) {
            return None;
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            integer = false;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            integer = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        match integer && digits <= MAX_INTEGER_DIGITS {
            true => Some(Scalar::Text(self.bytes.get(start..self.at)?.to_vec())),
            false => Some(Scalar::Other),
        }
    }

    fn digits(&mut self) -> usize {
        let count = self
            .bytes
            .get(self.at..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += count;
        count
    }

    /// A string's bytes, escapes decoded (`\u` to UTF-8, surrogate pairs joined); a control
    /// byte, an unknown escape or a lone surrogate makes the document invalid.
    fn string(&mut self) -> Option<Vec<u8>> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            // The plain bytes up to the next quote, backslash or control byte, at once.
            let rest = self.bytes.get(self.at..)?;
            let run = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            out.extend_from_slice(rest.get(..run)?);
            self.at += run + 1;
            match rest.get(run)? {
                b'"' => return Some(out),
                b'\\' => {
                    let escape = self.peek()?;
                    self.at += 1;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => push_utf8(&mut out, self.code_point()?),
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// The code point of a `\u` escape (after the `u`), with its low surrogate if it needs one.
    fn code_point(&mut self) -> Option<u32> {
        let high = self.hex4()?;
        match high {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.at..self.at + 2)? != b"\\u" {
                    return None;
                }
                self.at += 2;
                let low = self.hex4()?;
                match low {
                    0xDC00..=0xDFFF => Some(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)),
                    _ => None,
                }
            }
            0xDC00..=0xDFFF => None,
            _ => Some(high),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        let mut value = 0u32;
        for &digit in digits {
            value = value * 16 + char::from(digit).to_digit(16)?;
        }
        self.at += 4;
        Some(value)
    }
}

fn push_utf8(out: &mut Vec<u8>, code: u32) {
    let mut buffer = [0u8; 4];
    if let Some(c) = char::from_u32(code) {
        out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
    }
}
