//! `remove_cookie`: one named cookie taken out of the request's `cookie` header, the rest kept
//! as a script's string surgery keeps them (Pomerium's `clean-upstream.lua`, the common shape):
//! the header is cut at `;` (empty pieces dropped), each piece loses its leading spaces, a
//! piece whose name (the bytes before its first `=`, or the whole piece) is the cookie's is
//! dropped, and the rest are joined with `; `. The header is then replaced with that, even when
//! nothing is left (an empty `cookie`) or nothing was taken (`a=1;b=2` becomes `a=1; b=2`), as
//! the script's `headers:replace("cookie", rest)` does.

use alloc::vec::Vec;

/// The `cookie` header without the cookie `name`.
pub fn without(header: &[u8], name: &[u8]) -> Vec<u8> {
    let mut kept: Vec<u8> = Vec::new();
    for piece in header.split(|&b| b == b';').filter(|p| !p.is_empty()) {
        let start = piece.iter().take_while(|&&b| b == b' ').count();
        let piece = piece.get(start..).unwrap_or_default();
        let cookie = piece.split(|&b| b == b'=').next().unwrap_or_default();
        // A piece of spaces only is empty once trimmed: Lua's `^([^=]+)` gives nil for it,
        // which is not the name, so it is kept (as an empty piece).
        if !piece.is_empty() && cookie == name {
            continue;
        }
        if !kept.is_empty() {
            kept.extend_from_slice(b"; ");
        }
        kept.extend_from_slice(piece);
    }
    kept
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::without;

    #[test]
    fn cookies_table() {
        let cases: &[(&str, &str, &str)] = &[
            ("_pomerium=abc; session=1", "_pomerium", "session=1"),
            ("session=1; _pomerium=abc", "_pomerium", "session=1"),
            ("a=1;b=2", "_pomerium", "a=1; b=2"),
            ("_pomerium=abc", "_pomerium", ""),
            ("a=1;;  b=2 ;c", "c", "a=1; b=2 "),
            ("_pomerium", "_pomerium", ""),
            (
                "_pomerium_x=1; _pomerium=2; x=_pomerium",
                "_pomerium",
                "_pomerium_x=1; x=_pomerium",
            ),
            ("a=1; ;b=2", "z", "a=1; ; b=2"),
            (" a=1", "a", ""),
            ("", "a", ""),
        ];
        // The surgery as scripts write it, run by LuaJIT: the table holds its answers too.
        let lua = mlua::Lua::new();
        let surgery: mlua::Function = lua
            .load(
                r#"return function(unwanted, cookie_header)
                  local kept = ""
                  for piece in cookie_header:gmatch("([^;]+)") do
                    piece = piece:gsub("^ +", "")
                    local cname = piece:match("^([^=]+)")
                    if cname ~= unwanted then
                      if string.len(kept) > 0 then kept = kept .. "; " .. piece else kept = kept .. piece end
                    end
                  end
                  return kept
                end"#,
            )
            .eval()
            .unwrap();
        for (header, name, want) in cases {
            let got = without(header.as_bytes(), name.as_bytes());
            assert_eq!(
                String::from_utf8_lossy(&got),
                *want,
                "{header} without {name}"
            );
            let lua_got: String = surgery.call((*name, *header)).unwrap();
            assert_eq!(lua_got, *want, "LuaJIT: {header} without {name}");
        }
    }
}
