#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

//! Every supported conversion, at many instants, against LuaJIT's own `os.date("!...")` — the
//! function the Lua filter calls inside Envoy.

use mlua::Lua;
use moonshift_shared::strftime::{epoch_of, Format, SUPPORTED};

/// Instants that exercise leap days, year and month boundaries, single-digit fields, ISO week
/// edge cases, noon and midnight, plus a deterministic spread across 1970..2100.
fn instants() -> Vec<i64> {
    let mut out = vec![
        0,
        1,
        59,
        3599,
        86_399,
        86_400,
        951_782_400, // 2000-02-29
        1_700_000_000,
        4_102_444_799,   // 2099-12-31T23:59:59
        253_402_300_799, // 9999-12-31T23:59:59
    ];
    for year in [
        1970, 1999, 2000, 2004, 2020, 2021, 2024, 2026, 2027, 2100, 2400,
    ] {
        for (month, day) in [
            (1, 1),
            (1, 4),
            (2, 28),
            (3, 1),
            (6, 9),
            (12, 28),
            (12, 29),
            (12, 31),
        ] {
            for (h, m, s) in [(0, 0, 0), (9, 5, 7), (12, 0, 0), (23, 59, 59)] {
                out.push(epoch_of(year, month, day, h, m, s));
            }
        }
        out.push(epoch_of(year, 2, 29, 1, 2, 3) - if year % 4 == 0 { 0 } else { 86_400 });
    }
    // A linear congruential walk: deterministic, so a failure names a reproducible instant.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push(i64::try_from((x >> 11) % 4_102_444_800).unwrap());
    }
    out
}

#[test]
fn every_conversion_matches_luajit_os_date() {
    let lua = Lua::new();
    let os_date: mlua::Function = lua
        .load("return function(f, t) return os.date('!' .. f, t) end")
        .eval()
        .unwrap();
    let mut formats: Vec<String> = SUPPORTED.split(' ').map(str::to_string).collect();
    formats.push("%Y-%m-%dT%H:%M:%SZ".into());
    formats.push("[%a, %d %b %Y %H:%M:%S GMT]".into());
    let parsed: Vec<(String, Format)> = formats
        .iter()
        .map(|f| (f.clone(), Format::parse(f).unwrap()))
        .collect();
    let mut compared = 0;
    for instant in instants() {
        for (text, format) in &parsed {
            let want: String = os_date.call((text.as_str(), instant)).unwrap();
            let got = format.render(instant);
            assert_eq!(got, want, "format {text:?} at epoch {instant}");
            compared += 1;
        }
    }
    assert!(compared > 80_000, "compared only {compared} renderings");
}
