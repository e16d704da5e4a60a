//! The proxy-wasm wire formats, as pure functions: a header map is a `u32` count, then a
//! `(u32 name size, u32 value size)` pair per entry, then each name and value followed by a NUL;
//! a property path is its segments joined by NUL. All integers little-endian.

use alloc::vec::Vec;

/// A header map as the host gives it: names (lowercase in Envoy) with their raw value bytes,
/// in order, repeated names kept. The host's bytes are kept whole and read in place: a map read
/// is two allocations however many entries it has, where a copy of each name and value was two
/// an entry (counted: `moonshift-bench --costs`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderList {
    bytes: Vec<u8>,
    /// The bytes of entries appended since ([`Self::push_lowercase`]): the host's are an
    /// allocation of their exact size, which an append would copy.
    added: Vec<u8>,
    /// Each entry's name and value as `(start, end)` offsets into `bytes` followed by `added`.
    entries: Vec<[(usize, usize); 2]>,
}

impl HeaderList {
    /// The map in `bytes` (the wire format above); `None` when they are not a well-formed map.
    pub fn from_wire(bytes: Vec<u8>) -> Option<Self> {
        let count = u32_at(&bytes, 0).unwrap_or(0).min(bytes.len() / 8);
        // Room for the entries a filter adds after reading (`seen`), without a reallocation.
        let mut entries = Vec::with_capacity(count.saturating_add(2));
        // Each entry's place in `bytes`, from the slices the one parser hands out.
        let base = bytes.as_ptr() as usize;
        let span = |part: &[u8]| {
            let start = (part.as_ptr() as usize).wrapping_sub(base);
            (start, start.saturating_add(part.len()))
        };
        for_each_entry(&bytes, |name, value| {
            entries.push([span(name), span(value)])
        })?;
        Some(Self {
            bytes,
            added: Vec::new(),
            entries,
        })
    }

    /// The bytes at `(start, end)` of `bytes` followed by `added`.
    fn at(&self, (start, end): (usize, usize)) -> &[u8] {
        let host = self.bytes.len();
        match start >= host {
            false => self.bytes.get(start..end),
            true => self.added.get(start - host..end.saturating_sub(host)),
        }
        .unwrap_or_default()
    }

    /// The entries, in order, as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries
            .iter()
            .map(|[name, value]| (self.at(*name), self.at(*value)))
    }

    /// The value of the first entry named `name` (case-insensitive, as Envoy looks names up):
    /// what `proxy_get_header_map_value` answers.
    pub fn first(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Appends an entry, its name lowercased (as Envoy's map stores it).
    pub fn push_lowercase(&mut self, name: &[u8], value: &[u8]) {
        let host = self.bytes.len();
        self.added.reserve(name.len() + value.len());
        let name_start = host + self.added.len();
        self.added.extend(name.iter().map(u8::to_ascii_lowercase));
        let value_start = host + self.added.len();
        self.added.extend_from_slice(value);
        let value_end = host + self.added.len();
        self.entries
            .push([(name_start, value_start), (value_start, value_end)]);
    }

    /// Removes every entry named `name` (case-insensitive).
    pub fn remove(&mut self, name: &[u8]) {
        let mut entries = core::mem::take(&mut self.entries);
        entries.retain(|[key, _]| !self.at(*key).eq_ignore_ascii_case(name));
        self.entries = entries;
    }
}

pub fn serialize_map(map: &[(&str, &[u8])]) -> Vec<u8> {
    let size = 4 + map
        .iter()
        .map(|(n, v)| n.len() + v.len() + 10)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len32(map.len()).to_le_bytes());
    for (name, value) in map {
        out.extend_from_slice(&len32(name.len()).to_le_bytes());
        out.extend_from_slice(&len32(value.len()).to_le_bytes());
    }
    for (name, value) in map {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(word)).ok()
}

/// Calls `f` with each entry of a serialized map, in order, borrowed from its bytes: for a
/// filter that reads a few entries (names with a prefix) without copying every one. `None`
/// when the bytes are not a well-formed map (a host bug; never trusted blindly), after `f` saw
/// the entries before the fault.
pub fn for_each_entry<'a>(bytes: &'a [u8], mut f: impl FnMut(&'a [u8], &'a [u8])) -> Option<()> {
    if bytes.is_empty() {
        return Some(());
    }
    let count = u32_at(bytes, 0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    for entry in 0..count {
        let sizes = 4 + entry * 8;
        let (name_size, value_size) = (u32_at(bytes, sizes)?, u32_at(bytes, sizes + 4)?);
        let name = bytes.get(data..data.checked_add(name_size)?)?;
        data += name_size + 1;
        let value = bytes.get(data..data.checked_add(value_size)?)?;
        data += value_size + 1;
        f(name, value);
    }
    Some(())
}

/// The segments joined by NUL, in one allocation.
pub fn property_path(path: &[&str]) -> Vec<u8> {
    let size = path.iter().map(|segment| segment.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    for (i, segment) in path.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(segment.as_bytes());
    }
    out
}

/// `n` in decimal, written at the end of `buf` (the panic handler's line number, without the
/// formatting machinery).
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(digit) = buf.get_mut(start) {
            *digit = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_round_trip() {
        let cases: [&[(&str, &[u8])]; 4] = [
            &[],
            &[(":path", b"/")],
            &[("x-a", b"1"), ("x-a", b""), ("x-b", b"\xff\x00bytes")],
            &[("", b"")],
        ];
        for map in cases {
            let back = HeaderList::from_wire(serialize_map(map)).unwrap_or_default();
            let back: Vec<(&[u8], &[u8])> = back.iter().collect();
            let want: Vec<(&[u8], &[u8])> = map.iter().map(|(n, v)| (n.as_bytes(), *v)).collect();
            assert_eq!(back, want);
        }
    }

    #[test]
    fn malformed_maps_are_refused_not_read_past() {
        let good = serialize_map(&[("x-a", b"1")]);
        let cases: [(&str, Vec<u8>); 4] = [
            ("truncated count", vec![1, 0]),
            (
                "count past the end",
                [&u32::MAX.to_le_bytes()[..], &[0; 8]].concat(),
            ),
            ("truncated data", good[..good.len() - 3].to_vec()),
            (
                "sizes past the end",
                [&1u32.to_le_bytes()[..], &[255; 8]].concat(),
            ),
        ];
        for (name, bytes) in cases {
            assert_eq!(HeaderList::from_wire(bytes), None, "{name}");
        }
    }

    #[test]
    fn property_paths() {
        assert_eq!(property_path(&["plugin_name"]), b"plugin_name");
        assert_eq!(property_path(&["source", "address"]), b"source\0address");
        assert_eq!(property_path(&[]), b"");
    }

    #[test]
    fn decimal_writes_every_u32() {
        for (n, want) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (4096, "4096"),
            (u32::MAX, "4294967295"),
        ] {
            assert_eq!(super::decimal(n, &mut [0u8; 10]), want.as_bytes(), "{n}");
        }
    }
}
