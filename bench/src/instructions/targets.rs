//! The counted targets (issue 25), judged on the table's ratios: each Wasm variant against its
//! case's Lua, and the seed's pipeline against its effects written by hand.

/// A Wasm variant's added cost against its case's Lua: the whole, and the part outside the
/// module's compiled code (Envoy's side: its Wasm filter, V8's builtins, the host calls), which
/// bounds the ratio from below however little the module's own code does.
pub struct Ratio {
    pub case: String,
    pub label: &'static str,
    pub whole: f64,
    pub outside_module: f64,
}

/// The seed's pipeline against the same effects written by hand with no logic (issue 25: at
/// most 1.05x): `(ratio, pipeline added, by hand added)`, when both were counted.
fn seed_against_by_hand(added_by: &[(String, &'static str, i64)]) -> Option<(f64, i64, i64)> {
    let added = |prefix: &str| {
        added_by
            .iter()
            .find(|(case, label, _)| case == "the seed's script" && label.starts_with(prefix))
            .map(|(_, _, added)| *added)
    };
    let pipeline = added("E ")?;
    let by_hand = added(crate::cases::SEED_BY_HAND).filter(|n| *n > 0)?;
    Some((pipeline as f64 / by_hand as f64, pipeline, by_hand))
}

/// The counted targets (issue 25), each a ratio of added instructions: every filter's Wasm at
/// most 0.8 of its Lua, the seed's pipeline at most 0.9 of the script, every filter in one
/// pipeline at most 0.6 of their Lua scripts chained. Only the cases counted in this run are
/// judged. A target not met is also judged without the module's compiled code: when Envoy's
/// side alone is over it, no work inside the module can meet it with the same host calls. The
/// seed's pipeline is also held to the same effects written by hand, at most 1.05x.
pub fn targets(ratios: &[Ratio], added_by: &[(String, &'static str, i64)]) -> String {
    let mut rows = Vec::new();
    if let Some((ratio, pipeline, by_hand)) = seed_against_by_hand(added_by) {
        let verdict = match ratio <= 1.05 {
            true => "met",
            false => "**not met**",
        };
        rows.push(format!(
            "| the seed's script: its pipeline adds at most 1.05x its effects written by hand ({pipeline:+} against {by_hand:+}) | {ratio:.2} | {verdict} |\n"
        ));
    }
    for ratio in ratios {
        let case = ratio.case.as_str();
        let filter = moonshift_envoy::paths::FILTERS.contains(&case);
        let (target, what) = match (filter, ratio.label.get(..2)) {
            (true, Some("D ")) => (0.8, format!("{case}: the Wasm adds at most 0.8x its Lua")),
            (false, Some("E ")) if case == "the seed's script" => (
                0.9,
                "the seed's script: its pipeline adds at most 0.9x the script".to_string(),
            ),
            (false, Some("F ")) if case == "every filter chained" => (
                0.6,
                "every filter chained: one pipeline plugin adds at most 0.6x the Lua scripts"
                    .to_string(),
            ),
            _ => continue,
        };
        // The same effects written by hand with no logic (a filter's `bench_by_hand`): the
        // floor any module with those host calls stands on.
        let by_hand = ratios
            .iter()
            .find(|r| r.case == ratio.case && r.label.starts_with("G "))
            .map(|r| format!("; the same effects by hand, with no logic: {:.2}", r.whole))
            .unwrap_or_default();
        let verdict = match (ratio.whole <= target, ratio.outside_module > target) {
            (true, _) => "met".to_string(),
            (false, true) => format!(
                "**not met**: Envoy's side alone is {:.2}, over the target with the module's code at zero{by_hand}",
                ratio.outside_module
            ),
            (false, false) => format!(
                "**not met**: Envoy's side alone is {:.2}; the module's own code is over it{by_hand}",
                ratio.outside_module
            ),
        };
        rows.push(format!("| {what} | {:.2} | {verdict} |\n", ratio.whole));
    }
    match rows.is_empty() {
        true => String::new(),
        false => format!(
            "\nTargets, on the counted figures:\n\n| target | this run | |\n|---|---:|---|\n{}",
            rows.concat()
        ),
    }
}
