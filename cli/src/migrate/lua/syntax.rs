//! The Lua's text: positions, literals, names, and the nesting check that runs before the
//! parser (a script nested deeper than [`MAX_DEPTH`] is refused, never parsed recursively).

use full_moon::ast::Expression;
use full_moon::node::Node;
use full_moon::tokenizer::{Symbol, TokenReference, TokenType};

/// How deep blocks, calls and brackets may nest in a script migrate reads.
pub const MAX_DEPTH: usize = 200;

/// The longest literal migrate copies into a configuration (a header value is at most 8 KiB).
pub const MAX_LITERAL: usize = 8 * 1024;

pub fn position(node: &impl Node) -> (usize, usize) {
    node.start_position()
        .map_or((0, 0), |p| (p.line(), p.character()))
}

/// The source text of `node`, on one line, bounded.
pub fn code_of(node: &impl Node, source: &str) -> String {
    let range = node.range().map(|(a, b)| (a.bytes(), b.bytes()));
    let text = range
        .and_then(|(a, b)| source.get(a..b))
        .unwrap_or_default();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 100 {
        format!("{}…", flat.chars().take(100).collect::<String>())
    } else {
        flat
    }
}

pub fn identifier(token: &TokenReference) -> Option<String> {
    match token.token().token_type() {
        TokenType::Identifier { identifier } => Some(identifier.to_string()),
        _ => None,
    }
}

/// The value of a Lua string literal, escapes resolved; `None` for what is not one.
pub fn string_literal(token: &TokenReference) -> Option<String> {
    let TokenType::StringLiteral {
        literal,
        multi_line_depth,
        ..
    } = token.token().token_type()
    else {
        return None;
    };
    if *multi_line_depth > 0 {
        return Some(literal.to_string());
    }
    let mut out = Vec::new();
    let bytes = literal.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1)?;
        i += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'x' => {
                let hex = bytes.get(i..i + 2)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b'0'..=b'9' => {
                let digits: Vec<u8> = bytes
                    .get(i - 1..)?
                    .iter()
                    .take(3)
                    .take_while(|d| d.is_ascii_digit())
                    .copied()
                    .collect();
                i += digits.len() - 1;
                out.push(std::str::from_utf8(&digits).ok()?.parse::<u8>().ok()?);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

pub fn is_nil(e: &Expression) -> bool {
    matches!(e, Expression::Symbol(t) if matches!(t.token().token_type(), TokenType::Symbol { symbol: Symbol::Nil }))
}

/// Where the script first nests deeper than [`MAX_DEPTH`] (line, column), read from its tokens
/// alone: brackets and the keywords that open a block (`function`, `if`, `do`, `repeat`) against
/// `end`, `until` and closing brackets. The parser recurses; this does not.
pub fn too_deep(source: &str) -> Option<(usize, usize)> {
    let tokens =
        match full_moon::tokenizer::Lexer::new(source, full_moon::LuaVersion::new()).collect() {
            full_moon::tokenizer::LexerResult::Ok(tokens)
            | full_moon::tokenizer::LexerResult::Recovered(tokens, _) => tokens,
            full_moon::tokenizer::LexerResult::Fatal(_) => return None,
        };
    let mut depth = 0usize;
    for token in &tokens {
        let TokenType::Symbol { symbol } = token.token_type() else {
            continue;
        };
        match symbol {
            Symbol::Function
            | Symbol::If
            | Symbol::Do
            | Symbol::Repeat
            | Symbol::LeftParen
            | Symbol::LeftBrace
            | Symbol::LeftBracket => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let p = token.start_position();
                    return Some((p.line(), p.character()));
                }
            }
            Symbol::End
            | Symbol::Until
            | Symbol::RightParen
            | Symbol::RightBrace
            | Symbol::RightBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}
