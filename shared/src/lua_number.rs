//! A number as Lua writes it where a string is wanted: LuaJIT's `tostring(n)`, `"x" .. n`, and
//! `headers:add(name, n)` (`luaL_checklstring`) all give C's `%.14g`: at most 14 significant
//! digits, no trailing zeros, an exponent (`1e+14`, `1e-05`) below 1e-4 or from 1e14 on.
//!
//! Route metadata can hold a number (`weight: 2`); a script that writes it into a header gets
//! `"2"`. The digits are computed exactly, in integers: a double is `m · 2^e`, and its 14
//! significant digits are `m · 2^e · 10^p` rounded half to even, as glibc's `printf` rounds.
//! That fits in 128 bits for 1e-5 <= |x| < 1e15, the numbers a route's metadata holds; outside
//! it (and for NaN and the infinities) there is no rendering: core's float formatting would
//! add 28 KB to every module that renders templates (measured), for numbers no route carries.
//! Held to LuaJIT's `tostring` by a property test over the whole range.

use alloc::vec::Vec;

/// `x` as `%.14g` (LuaJIT's `tostring(x)`), for 0 and 1e-5 <= |x| < 1e15; `None` elsewhere.
/// Written byte by byte: `core::fmt` and `str` searches for it would add kilobytes to every
/// module.
pub fn format(x: f64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if x.is_sign_negative() {
        out.push(b'-');
    }
    if x == 0.0 {
        out.push(b'0');
        return Some(out);
    }
    let (digits, exponent) = significant(x.abs())?;
    let text = decimal(digits);
    // The significant digits: without the zeros that end them (there is at least one other).
    let mut kept = text.len();
    while kept > 1 && text.get(kept - 1) == Some(&b'0') {
        kept -= 1;
    }
    let (significant, _) = text.split_at(kept);
    match exponent {
        -4..=-1 => {
            out.extend_from_slice(b"0.");
            (1..exponent.unsigned_abs()).for_each(|_| out.push(b'0'));
            out.extend_from_slice(significant);
        }
        0..=13 => {
            let point = usize::try_from(exponent).ok()? + 1;
            out.extend_from_slice(text.get(..point)?);
            if let Some(fraction) = significant.get(point..).filter(|f| !f.is_empty()) {
                out.push(b'.');
                out.extend_from_slice(fraction);
            }
        }
        _ => {
            let (first, rest) = significant.split_at(1);
            out.extend_from_slice(first);
            if !rest.is_empty() {
                out.push(b'.');
                out.extend_from_slice(rest);
            }
            out.extend_from_slice(if exponent < 0 { b"e-" } else { b"e+" });
            let magnitude = decimal(u64::from(exponent.unsigned_abs()) + 100);
            out.extend_from_slice(magnitude.get(1..)?);
        }
    }
    Some(out)
}

/// `n` in decimal.
fn decimal(mut n: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        bytes.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    bytes.reverse();
    bytes
}

/// 10^0 to 10^18.
const POW10: [u64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

/// For 1e-5 <= x < 1e15: the 14 significant digits of `x` rounded half to even, as an integer
/// in 10^13..10^14, and the decimal exponent of the rounded value.
fn significant(x: f64) -> Option<(u64, i32)> {
    if !(1e-5..1e15).contains(&x) {
        return None;
    }
    let bits = x.to_bits();
    let biased = i32::try_from((bits >> 52) & 0x7ff).ok()?;
    // Normal here (x >= 1e-5): x = m · 2^-s, m < 2^53, s in 3..=69 over this range.
    let m = u128::from(bits & ((1 << 52) - 1) | 1 << 52);
    let s = u32::try_from(1075 - biased).ok()?;
    // The largest k with 10^k <= x, compared exactly.
    let power = |k: u32| u128::from(POW10.get(k as usize).copied().unwrap_or(u64::MAX));
    let at_least = |k: i32| match u32::try_from(k) {
        Ok(k) => m >= power(k) << s,
        Err(_) => m * power(k.unsigned_abs()) >= 1u128 << s,
    };
    let mut k = (-5..=14).rev().find(|k| at_least(*k))?;
    // x · 10^(13-k), its integer part and whether the rest is above, at or below one half: by
    // shifts, with no 128-bit division (which would add kilobytes to every module).
    let (mut digits, rest, half) = match u32::try_from(13 - k) {
        Ok(p) => {
            let scaled = m * power(p);
            (scaled >> s, scaled & ((1 << s) - 1), 1u128 << (s - 1))
        }
        // k = 14: x / 10, with x below 1e15 (its integer part fits a u64).
        Err(_) => {
            let whole = u64::try_from(m >> s).ok()?;
            let rest = u128::from(whole % 10) << s | (m & ((1 << s) - 1));
            (u128::from(whole / 10), rest, 5u128 << s)
        }
    };
    if rest > half || (rest == half && digits % 2 == 1) {
        digits += 1;
    }
    if digits == 100_000_000_000_000 {
        digits = 10_000_000_000_000;
        k += 1;
    }
    Some((u64::try_from(digits).ok()?, k))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::format;
    use proptest::prelude::*;

    fn tostring(lua: &mlua::Lua, x: f64) -> Vec<u8> {
        let tostring: mlua::Function = lua.globals().get("tostring").unwrap();
        tostring.call::<String>(x).unwrap().into_bytes()
    }

    #[test]
    fn writes_numbers_as_luajit_does_table() {
        let lua = mlua::Lua::new();
        let cases = [
            0.0,
            -0.0,
            2.0,
            -7.0,
            2.5,
            0.1,
            0.25,
            1.0 / 3.0,
            100.0,
            1e14,
            1e14 - 1.0,
            1e14 + 0.5,
            123_456_789_012_345.0,
            999_999_999_999_999.0,
            1e-4,
            1e-5,
            0.000_123_456_789_012_345_6,
            9.999_999_999_999_95,
            99_999_999_999_999.5,
            0.3,
            -2.5e-3,
        ];
        for x in cases {
            assert_eq!(format(x), Some(tostring(&lua, x)), "{x:e}");
        }
    }

    #[test]
    fn renders_nothing_outside_what_a_route_holds() {
        for x in [1e15, 1e20, -1e300, 9e-6, 5e-324, f64::INFINITY, f64::NAN] {
            assert_eq!(format(x), None, "{x:e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]
        #[test]
        fn writes_any_double_in_range_as_luajit_does(
            biased in 1006u64..1073,
            fraction in 0u64..(1 << 52),
            negative in any::<bool>(),
        ) {
            let x = f64::from_bits(u64::from(negative) << 63 | biased << 52 | fraction);
            prop_assume!((1e-5..1e15).contains(&x.abs()));
            let lua = mlua::Lua::new();
            prop_assert_eq!(format(x), Some(tostring(&lua, x)));
        }

        #[test]
        fn writes_everyday_numbers_as_luajit_does(n in -10_000_000i64..10_000_000, scale in 0i32..9) {
            #[allow(clippy::cast_precision_loss)]
            let x = n as f64 / 10f64.powi(scale);
            prop_assume!(x == 0.0 || (1e-5..1e15).contains(&x.abs()));
            let lua = mlua::Lua::new();
            prop_assert_eq!(format(x), Some(tostring(&lua, x)));
        }
    }
}
