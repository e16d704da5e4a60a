//! Fresh UUIDs (`%UNIQUE_ID%`) in an outcome, masked: Lua and Wasm draw them from different
//! generators, so only their form can be compared.

use super::Outcome;

/// What a version 4 UUID (Envoy's `%UNIQUE_ID%`) is replaced with by [`mask_unique_ids`].
pub const UNIQUE_ID_MASK: &[u8] = b"<uuid>";

/// Whether `bytes` is a lowercase version 4 UUID, `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`.
pub fn is_uuid_v4(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            14 => b == b'4',
            19 => matches!(b, b'8' | b'9' | b'a' | b'b'),
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// `bytes` with every version 4 UUID in it replaced by [`UNIQUE_ID_MASK`].
pub fn mask_uuids(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes.get(at..at + 36) {
            Some(window) if is_uuid_v4(window) => {
                out.extend_from_slice(UNIQUE_ID_MASK);
                at += 36;
            }
            _ => {
                out.extend(bytes.get(at));
                at += 1;
            }
        }
    }
    out
}

/// `outcome` with the fresh UUIDs a `%UNIQUE_ID%` rendered masked, in every header value, the
/// body and the log lines: Lua and Wasm draw them from different generators, so only their
/// form can be compared. Applied only when a configuration holds `%UNIQUE_ID%`; a scenario
/// then expects `<uuid>`, which only a well-formed UUID becomes.
pub fn mask_unique_ids(outcome: &Outcome) -> Outcome {
    let mut out = outcome.clone();
    let headers = out
        .upstream_request
        .iter_mut()
        .flatten()
        .chain(out.response.headers.iter_mut());
    for (_, value) in headers {
        *value = mask_uuids(value);
    }
    if let Some(body) = out.response.body.as_mut() {
        *body = mask_uuids(body);
    }
    for line in &mut out.logs {
        line.message = mask_uuids(&line.message);
    }
    out
}

/// Whether a configuration (JSON text) renders `%UNIQUE_ID%` somewhere.
pub fn renders_unique_ids(configuration: &[u8]) -> bool {
    configuration.windows(11).any(|w| w == b"%UNIQUE_ID%")
}
