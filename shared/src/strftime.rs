//! The clock-only subset of C `strftime` that LuaJIT's `os.date("!...")` produces, in the C locale.
//!
//! LuaJIT hands the whole format to the C library's `strftime` with `gmtime()`'s broken-down time.
//! [`Format::parse`] accepts only conversions whose output depends on the instant alone (no locale
//! beyond "C", no time zone database), and [`Format::render`] writes exactly what glibc writes.
//! Composite conversions (`%c %D %F %r %R %T %x %X %h`) are expanded when parsing.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt::Write as _;

/// The conversions [`Format::parse`] accepts, for error messages and documentation.
pub const SUPPORTED: &str =
    "%% %a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %p %P %r %R %S %T %u %U %V %w %W %x %X %y %Y %z %Z";

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// A single-letter conversion that is not a composite.
    Conversion(u8),
}

/// A parsed, validated format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pieces: Vec<Piece>,
}

/// A format and its last rendering: a value stamped on every request renders once a second.
/// `render` on its own writes six or so fields through `core::fmt`, about 10,000 Wasm
/// instructions for `%Y-%m-%dT%H:%M:%SZ`; a repeat within the second is a copy. Two stamps
/// are equal when their formats are, whatever they last rendered.
#[derive(Debug, Clone)]
pub struct Stamp {
    format: Format,
    last: RefCell<Option<(i64, String)>>,
}

impl Stamp {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            last: RefCell::new(None),
        }
    }

    /// [`Format::render`], from the last rendering when it was for the same second.
    pub fn render(&self, epoch_seconds: i64) -> String {
        let Ok(mut last) = self.last.try_borrow_mut() else {
            return self.format.render(epoch_seconds);
        };
        match last.as_ref() {
            Some((second, text)) if *second == epoch_seconds => text.clone(),
            _ => {
                let text = self.format.render(epoch_seconds);
                *last = Some((epoch_seconds, text.clone()));
                text
            }
        }
    }
}

impl PartialEq for Stamp {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format
    }
}

impl Eq for Stamp {}

/// Why a format was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// `%` followed by something outside [`SUPPORTED`]; holds the two-character sequence.
    Unsupported(String),
    /// The format ends with a single `%`.
    TrailingPercent,
}

/// For configuration errors: what is wrong, in words (never Rust's `Debug` form).
impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unsupported(conversion) => write!(
                f,
                "must use only the conversions {SUPPORTED}, got {}",
                crate::json::quote(conversion)
            ),
            Self::TrailingPercent => f.write_str("must not end with a lone \"%\""),
        }
    }
}

fn expansion(conversion: u8) -> Option<&'static str> {
    Some(match conversion {
        b'c' => "%a %b %e %H:%M:%S %Y",
        b'D' | b'x' => "%m/%d/%y",
        b'F' => "%Y-%m-%d",
        b'h' => "%b",
        b'r' => "%I:%M:%S %p",
        b'R' => "%H:%M",
        b'T' | b'X' => "%H:%M:%S",
        _ => return None,
    })
}

fn is_simple(conversion: u8) -> bool {
    b"aAbBCdegGHIjklmMpPSuUVwWyYzZ".contains(&conversion)
}

impl Format {
    /// Parses `format` (without Lua's leading `!`).
    pub fn parse(format: &str) -> Result<Self, FormatError> {
        let mut pieces = Vec::new();
        Self::parse_into(format, &mut pieces)?;
        Ok(Self { pieces })
    }

    fn parse_into(format: &str, pieces: &mut Vec<Piece>) -> Result<(), FormatError> {
        let mut chars = format.chars();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let Some(next) = chars.next() else {
                return Err(FormatError::TrailingPercent);
            };
            if next == '%' {
                literal.push('%');
                continue;
            }
            let byte = u8::try_from(next).unwrap_or(0);
            if !(is_simple(byte) || expansion(byte).is_some()) {
                return Err(FormatError::Unsupported(format!("%{next}")));
            }
            if !literal.is_empty() {
                pieces.push(Piece::Literal(core::mem::take(&mut literal)));
            }
            match expansion(byte) {
                Some(composite) => Self::parse_into(composite, pieces)?,
                None => pieces.push(Piece::Conversion(byte)),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(())
    }

    /// The text for `epoch_seconds` (UTC), as `os.date("!" .. format, epoch_seconds)` gives it.
    pub fn render(&self, epoch_seconds: i64) -> String {
        let tm = BrokenDown::from_epoch(epoch_seconds);
        let mut out = String::with_capacity(32);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Conversion(c) => tm.write(*c, &mut out),
            }
        }
        out
    }
}

/// `struct tm` as `gmtime()` fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BrokenDown {
    year: i64,
    /// 1..=12
    month: u32,
    /// 1..=31
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Sunday
    weekday: u32,
    /// 0-based day of the year
    yday: u32,
}

/// Days from 1970-01-01 to `year`-`month`-`day` (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl BrokenDown {
    fn from_epoch(epoch_seconds: i64) -> Self {
        let days = epoch_seconds.div_euclid(86_400);
        let secs = epoch_seconds.rem_euclid(86_400);
        // Howard Hinnant's `civil_from_days`.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let month = u32::try_from(month).unwrap_or(1);
        let day = u32::try_from(day).unwrap_or(1);
        let yday = days - days_from_civil(year, 1, 1);
        Self {
            year,
            month,
            day,
            hour: u32::try_from(secs / 3600).unwrap_or(0),
            minute: u32::try_from(secs / 60 % 60).unwrap_or(0),
            second: u32::try_from(secs % 60).unwrap_or(0),
            weekday: u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
            yday: u32::try_from(yday).unwrap_or(0),
        }
    }

    /// ISO 8601 week-based year and week number (glibc's `%G` / `%V`).
    fn iso_week(&self) -> (i64, u32) {
        // Monday = 0.
        let iso_weekday = (i64::from(self.weekday) + 6) % 7;
        let yday = i64::from(self.yday);
        let week = (yday - iso_weekday + 10) / 7;
        let weeks_in = |year: i64| -> i64 {
            let p = |y: i64| {
                (y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)).rem_euclid(7)
            };
            if p(year) == 4 || p(year - 1) == 3 {
                53
            } else {
                52
            }
        };
        let (year, week) = if week < 1 {
            (self.year - 1, weeks_in(self.year - 1))
        } else if week > weeks_in(self.year) {
            (self.year + 1, 1)
        } else {
            (self.year, week)
        };
        (year, u32::try_from(week).unwrap_or(1))
    }

    fn write(&self, conversion: u8, out: &mut String) {
        let weekday = WEEKDAYS.get(self.weekday as usize).copied().unwrap_or("");
        let month = MONTHS
            .get((self.month as usize).wrapping_sub(1))
            .copied()
            .unwrap_or("");
        let hour12 = match self.hour % 12 {
            0 => 12,
            h => h,
        };
        let am_pm = if self.hour < 12 { "AM" } else { "PM" };
        // Writing to a String cannot fail.
        let _ = match conversion {
            b'a' => write!(out, "{}", weekday.get(..3).unwrap_or("")),
            b'A' => write!(out, "{weekday}"),
            b'b' => write!(out, "{}", month.get(..3).unwrap_or("")),
            b'B' => write!(out, "{month}"),
            b'C' => write!(out, "{:02}", self.year.div_euclid(100)),
            b'd' => write!(out, "{:02}", self.day),
            b'e' => write!(out, "{:2}", self.day),
            b'g' => write!(out, "{:02}", self.iso_week().0.rem_euclid(100)),
            b'G' => write!(out, "{}", self.iso_week().0),
            b'H' => write!(out, "{:02}", self.hour),
            b'I' => write!(out, "{hour12:02}"),
            b'j' => write!(out, "{:03}", self.yday + 1),
            b'k' => write!(out, "{:2}", self.hour),
            b'l' => write!(out, "{hour12:2}"),
            b'm' => write!(out, "{:02}", self.month),
            b'M' => write!(out, "{:02}", self.minute),
            b'p' => write!(out, "{am_pm}"),
            b'P' => write!(out, "{}", am_pm.to_ascii_lowercase()),
            b'S' => write!(out, "{:02}", self.second),
            b'u' => write!(out, "{}", (self.weekday + 6) % 7 + 1),
            b'U' => write!(out, "{:02}", (self.yday + 7 - self.weekday) / 7),
            b'V' => write!(out, "{:02}", self.iso_week().1),
            b'w' => write!(out, "{}", self.weekday),
            b'W' => write!(out, "{:02}", (self.yday + 7 - (self.weekday + 6) % 7) / 7),
            b'y' => write!(out, "{:02}", self.year.rem_euclid(100)),
            b'Y' => write!(out, "{}", self.year),
            b'z' => write!(out, "+0000"),
            b'Z' => write!(out, "GMT"),
            _ => Ok(()),
        };
    }
}

/// Seconds since the epoch of a UTC civil time; exposed for tests.
pub fn epoch_of(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
    days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second)
}

#[cfg(test)]
mod tests;
