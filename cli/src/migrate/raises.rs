//! The line the Lua logs where it raises, learned from the Lua itself.
//!
//! Where the script raises (a string function of an absent header, say), Envoy logs the
//! error at `error` as `[string "<the script's first line>..."]:LINE: <LuaJIT's message>`, and
//! the rest of the script does not run. The evaluation ends that path and puts a log line with
//! a mark in its place (`lua::raises`). Here each mark becomes the line the Lua logs: both are
//! played on the compare's requests, and where the plugin logs a mark, the Lua's log line at
//! the same place is what it stands for. Every request that reaches a mark must show the same
//! line, and some request must reach it, or the script is refused. The compare that follows
//! then checks the result like any other configuration.

use super::lua::is_raise_mark;
use crate::compare::{self, Plugin};
use moonshift_harness::exchange::{Level, RouteMetadata};
use moonshift_harness::scenario::ExchangeSpec;
use moonshift_shared::template::{Phase, Template};
use serde_json::Value;
use std::collections::BTreeMap;

/// Whether `config` has a raise's mark left in it.
pub fn marked(config: &Value) -> bool {
    match config {
        Value::String(s) => is_raise_mark(s),
        Value::Array(items) => items.iter().any(marked),
        Value::Object(fields) => fields.values().any(marked),
        _ => false,
    }
}

/// Plays `requests` on each route of `routes` through the Lua and through the plugin with
/// `config`, and replaces each mark in `config` by the Lua's line. `Ok(Err(why))`: it cannot,
/// and the script is refused; `Err`: the requests could not be played. This play runs a
/// configuration that is never written; the compare plays again the one that is, so that what
/// is checked is what ships (in-process, the second play costs milliseconds).
pub fn learn(
    config: &mut Value,
    scripts: &[String],
    plugin: &Plugin,
    requests: &[ExchangeSpec],
    routes: &[(String, RouteMetadata)],
) -> Result<Result<(), String>, String> {
    let mut learned: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let plugins = [Plugin {
        config: Some(config.clone()),
        ..plugin.clone()
    }];
    for (_, route) in routes {
        for (lua, wasm) in compare::play(scripts, &plugins, requests.to_vec(), route.clone())? {
            for (i, line) in wasm.logs.iter().enumerate() {
                let Ok(mark) = std::str::from_utf8(&line.message) else {
                    continue;
                };
                if !is_raise_mark(mark) {
                    continue;
                }
                let said = match lua.logs.get(i) {
                    Some(said) if said.level == Level::Error => said.message.clone(),
                    _ => return Ok(Err(format!("where the script raises, the Lua logged no error line in the place the plugin would (a request on which they differ before it: {} lines against {})", lua.logs.len(), wasm.logs.len()))),
                };
                match learned.get(mark) {
                    Some(known) if *known != said => {
                        return Ok(Err(format!(
                            "where the script raises, the Lua logs different lines on different requests ({:?} and {:?}): the plugin logs one",
                            String::from_utf8_lossy(known),
                            String::from_utf8_lossy(&said)
                        )))
                    }
                    _ => {
                        learned.insert(mark.to_string(), said);
                    }
                }
            }
        }
    }
    if let Err(why) = replace(config, &learned) {
        return Ok(Err(why));
    }
    Ok(match marked(config) {
        true => Err("the script raises where no request the compare plays gets (the line the Lua logs there is not known)".into()),
        false => Ok(()),
    })
}

/// Each mark in `value` replaced by its line, which must read as literal text in a template (a
/// `%` that starts no command is literal; one that does cannot be written).
fn replace(value: &mut Value, learned: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    match value {
        Value::String(s) => {
            if let Some(line) = learned.get(s.as_str()) {
                let text = String::from_utf8(line.clone())
                    .map_err(|_| "the Lua's error line is not UTF-8 text".to_string())?;
                let literal = Template::parse("message", &text, Phase::Request)
                    .ok()
                    .and_then(|t| t.literal().map(str::to_string));
                if literal.as_deref() != Some(text.as_str()) {
                    return Err(format!("the line the Lua logs where it raises ({text:?}) reads as a template command in a log line"));
                }
                *s = text;
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| replace(v, learned)),
        Value::Object(fields) => fields.values_mut().try_for_each(|v| replace(v, learned)),
        _ => Ok(()),
    }
}
