//! A handle method's arguments, read as Envoy's Lua filter reads them, raising what it raises
//! (observed in Envoy 1.40 for every method the scripts call: `tests/tests/lua_host_in_envoy.rs`).
//! Envoy checks them with Lua's auxiliary library (`luaL_checkstring`, `luaL_checknumber`,
//! `luaL_checktype`, `luaL_optlstring`, `luaL_error`): the message starts at the script's line,
//! and counts arguments after the handle (`h:m(a, b)`: `a` is #1).

use mlua::{Lua, MultiValue, Table, Value};

/// An error raised by the method, at the line of the script that called it, as `luaL_error`
/// does: `[string "..."]:4: message`.
pub fn raise(lua: &Lua, message: &str) -> mlua::Error {
    let at = lua
        .inspect_stack(1, |caller| {
            let source = caller.source();
            let line = caller.current_line().unwrap_or_default();
            format!("{}:{line}: ", source.short_src.unwrap_or_default())
        })
        .unwrap_or_default();
    mlua::Error::runtime(format!("{at}{message}"))
}

/// `bad argument #N to 'method' (<expected> expected, got <type>)`.
fn bad(lua: &Lua, i: usize, method: &str, expected: &str, got: &str) -> mlua::Error {
    raise(
        lua,
        &format!(
            "bad argument #{} to '{method}' ({expected} expected, got {got})",
            i + 1
        ),
    )
}

fn type_name(value: Option<&Value>) -> &'static str {
    value.map_or("no value", Value::type_name)
}

/// Argument `i` as `luaL_checkstring` reads it: a string, or a number as its text.
pub fn string(lua: &Lua, args: &MultiValue, i: usize, method: &str) -> mlua::Result<mlua::String> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(number @ (Value::Number(_) | Value::Integer(_))) => lua
            .coerce_string(number.clone())?
            .ok_or_else(|| bad(lua, i, method, "string", number.type_name())),
        other => Err(bad(lua, i, method, "string", type_name(other))),
    }
}

/// Argument `i` as `luaL_optlstring` reads it: absent or nil is `None`, else a string.
pub fn optional_string(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    method: &str,
) -> mlua::Result<Option<mlua::String>> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(None),
        Some(_) => string(lua, args, i, method).map(Some),
    }
}

/// Argument `i` as `luaL_checknumber` reads it: a number, or a string that reads as one.
pub fn number(lua: &Lua, args: &MultiValue, i: usize, method: &str) -> mlua::Result<f64> {
    let value = args.get(i);
    let number = match value {
        Some(v @ (Value::Number(_) | Value::Integer(_) | Value::String(_))) => {
            lua.coerce_number(v.clone())?
        }
        _ => None,
    };
    number.ok_or_else(|| bad(lua, i, method, "number", type_name(value)))
}

/// Argument `i` as `luaL_checktype(..., LUA_TTABLE)` reads it.
pub fn table(lua: &Lua, args: &MultiValue, i: usize, method: &str) -> mlua::Result<Table> {
    match args.get(i) {
        Some(Value::Table(t)) => Ok(t.clone()),
        other => Err(bad(lua, i, method, "table", type_name(other))),
    }
}
