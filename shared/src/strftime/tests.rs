//! The formats scripts use, rendered as glibc renders them.

use super::*;

#[test]
fn render_table() -> Result<(), FormatError> {
    // (format, instant, expected): exact glibc output, checked against LuaJIT in
    // tests/strftime_vs_luajit.rs for many more instants.
    let leap_day = epoch_of(2024, 2, 29, 7, 5, 9);
    let new_year = epoch_of(2027, 1, 1, 0, 0, 0);
    let cases = [
        ("%Y-%m-%dT%H:%M:%SZ", 0, "1970-01-01T00:00:00Z"),
        ("%Y-%m-%dT%H:%M:%SZ", 1_700_000_000, "2023-11-14T22:13:20Z"),
        ("%Y-%m-%dT%H:%M:%SZ", leap_day, "2024-02-29T07:05:09Z"),
        ("%j %U %W %V %G %g", leap_day, "060 08 09 09 2024 24"),
        ("%a %A %b %B %h", leap_day, "Thu Thursday Feb February Feb"),
        ("%e|%k|%l|%I|%p|%P", leap_day, "29| 7| 7|07|AM|am"),
        ("%c", leap_day, "Thu Feb 29 07:05:09 2024"),
        (
            "%D %F %T %R %r",
            leap_day,
            "02/29/24 2024-02-29 07:05:09 07:05 07:05:09 AM",
        ),
        ("%x %X %C %y %u %w", leap_day, "02/29/24 07:05:09 20 24 4 4"),
        ("%z %Z 100%%", leap_day, "+0000 GMT 100%"),
        ("%j %U %W %V %G", new_year, "001 00 00 53 2026"),
        (
            "%a %e %l%p",
            epoch_of(2026, 12, 31, 23, 59, 59),
            "Thu 31 11PM",
        ),
        ("%I %l %p", epoch_of(2026, 6, 1, 12, 0, 0), "12 12 PM"),
        ("%I %l %p", epoch_of(2026, 6, 1, 0, 0, 0), "12 12 AM"),
        ("no conversion", 5, "no conversion"),
        ("é%Y", 0, "é1970"),
    ];
    for (format, instant, want) in cases {
        let parsed = Format::parse(format)?;
        assert_eq!(
            parsed.render(instant),
            want,
            "format {format:?} at {instant}"
        );
    }
    Ok(())
}

#[test]
fn parse_errors() {
    let cases = [
        ("%s", FormatError::Unsupported("%s".into())),
        ("%Y%Q", FormatError::Unsupported("%Q".into())),
        ("%-d", FormatError::Unsupported("%-".into())),
        ("%Ey", FormatError::Unsupported("%E".into())),
        ("%n", FormatError::Unsupported("%n".into())),
        ("%t", FormatError::Unsupported("%t".into())),
        ("%é", FormatError::Unsupported("%é".into())),
        ("abc%", FormatError::TrailingPercent),
    ];
    for (format, want) in cases {
        assert_eq!(Format::parse(format), Err(want), "format {format:?}");
    }
}

#[test]
fn every_supported_conversion_parses() {
    for conversion in SUPPORTED.split(' ') {
        assert!(Format::parse(conversion).is_ok(), "{conversion}");
    }
}

/// A stamp renders what its format renders, second after second, and back again.
#[test]
fn a_stamp_renders_as_its_format_whatever_the_order_of_seconds() {
    let format = Format::parse("%Y-%m-%dT%H:%M:%SZ").unwrap();
    let stamp = Stamp::new(format.clone());
    assert_eq!(
        stamp,
        Stamp::new(format.clone()),
        "equal whatever it rendered"
    );
    for second in [
        1_700_000_000,
        1_700_000_000,
        1_700_000_001,
        1_700_000_000,
        0,
        -1,
        0,
    ] {
        assert_eq!(stamp.render(second), format.render(second), "{second}");
    }
}
